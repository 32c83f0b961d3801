import { Group, Paper, Stack, Text, UnstyledButton } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { ExecutedBy } from './ExecutedBy';
import { formatDateTime, refLabel } from './format';
import type { PaymentListProps } from './PaymentsTable';
import { FailureReason, RefundHint, StatusBadge } from './StatusBadge';

/** PaymentCards is the phone list: one tappable card per payment, no sideways scrolling. */
export function PaymentCards({ payments, onOpen, highlightId, busy }: PaymentListProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  return (
    <Stack gap="xs" component="ul" aria-label={t('payments.title')} aria-busy={busy} p={0} m={0} style={{ listStyle: 'none' }}>
      {payments.map((p) => (
        <li key={p.id}>
          <Paper
            withBorder
            radius="md"
            p="sm"
            data-testid="payment-card"
            data-payment-id={p.id}
            bg={p.id === highlightId ? 'var(--mantine-primary-color-light)' : undefined}
          >
            <UnstyledButton
              onClick={() => onOpen(p)}
              w="100%"
              aria-label={t('payments.openDetails', { ref: p.payment_ref_id })}
            >
              <Group justify="space-between" align="flex-start" wrap="nowrap" gap="xs">
                <Stack gap={2} style={{ minWidth: 0 }}>
                  <Text fw={600} truncate>
                    {p.third_party}
                  </Text>
                  <Text size="sm" c="dimmed" truncate>
                    {p.customer_name || p.customer_id}
                  </Text>
                </Stack>
                <Stack gap={0} align="flex-end" style={{ flexShrink: 0 }}>
                  <Text fw={700} className="tabular" data-testid="payment-amount">
                    {formatMoney(p.amount, p.currency, locale)}
                  </Text>
                  <RefundHint amount={p.amount} refunded={p.amount_refunded} />
                </Stack>
              </Group>
              <Group justify="space-between" mt={6} gap="xs" wrap="nowrap">
                <Text size="xs" c="dimmed" className="tabular">
                  {formatDateTime(p.date, locale)} · <span className="mono">{refLabel(p.payment_ref_id)}</span>
                </Text>
                <Stack gap={0} align="flex-end">
                  <StatusBadge status={p.status} />
                  {p.status === 'failed' && <FailureReason code={p.failure_code} message={p.failure_message} />}
                </Stack>
              </Group>
              <Text size="xs" c="dimmed" mt={4} truncate>
                {t('payments.columns.executedBy')}: <ExecutedBy payment={p} inline withEmail={false} />
              </Text>
            </UnstyledButton>
          </Paper>
        </li>
      ))}
    </Stack>
  );
}
