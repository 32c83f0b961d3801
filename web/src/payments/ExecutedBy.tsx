import { Stack, Text } from '@mantine/core';
import { IconKey } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import type { Payment } from '../api/types';

/**
 * ExecutedBy shows who executed a payment: "API key: <name>" after a key icon, or the user's name
 * with the email below it. `inline` keeps it to one line of phrasing content (the email in
 * brackets unless `withEmail` is false), for a sentence or a card.
 */
export function ExecutedBy({ payment, inline = false, withEmail = true }: { payment: Payment; inline?: boolean; withEmail?: boolean }) {
  const { t } = useTranslation();
  const e = payment.executed_by;
  if (e.type === 'api_key') {
    return (
      <span data-testid="executed-by" data-executor="api_key">
        <IconKey size={inline ? 12 : 14} aria-hidden style={{ verticalAlign: '-0.125em', marginRight: 4 }} />
        {t('payments.apiKey', { name: e.name || e.id })}
      </span>
    );
  }
  if (inline) {
    return (
      <span data-testid="executed-by" data-executor="user">
        {e.name ? `${e.name}${withEmail && e.email ? ` (${e.email})` : ''}` : e.email || e.id}
      </span>
    );
  }
  return (
    <Stack gap={0} data-testid="executed-by" data-executor="user">
      <Text size="sm">{e.name || e.id}</Text>
      {e.email && (
        <Text size="xs" c="dimmed">
          {e.email}
        </Text>
      )}
    </Stack>
  );
}
