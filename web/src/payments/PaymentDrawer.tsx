import { ActionIcon, CopyButton, Drawer, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import { IconCheck, IconCopy } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { Payment } from '../api/types';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatDateTime } from './format';
import { StatusBadge } from './StatusBadge';

function Copyable({ value }: { value: string }) {
  const { t } = useTranslation();
  return (
    <Group gap={4} wrap="nowrap">
      <Text className="mono" style={{ wordBreak: 'break-all' }}>
        {value}
      </Text>
      <CopyButton value={value} timeout={1500}>
        {({ copied, copy }) => (
          <Tooltip label={copied ? t('payments.copied') : t('payments.copy')} withArrow>
            <ActionIcon variant="subtle" color={copied ? 'teal' : 'gray'} onClick={copy} aria-label={t('payments.copy')}>
              {copied ? <IconCheck size={16} aria-hidden /> : <IconCopy size={16} aria-hidden />}
            </ActionIcon>
          </Tooltip>
        )}
      </CopyButton>
    </Group>
  );
}

/** PaymentDrawer shows every field of one payment. */
export function PaymentDrawer({ payment, onClose }: { payment: Payment | null; onClose: () => void }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const rows: [string, ReactNode][] = payment
    ? [
        [t('payments.fields.amount'), <Text key="a" fw={700} size="lg">{formatMoney(payment.amount, payment.currency, locale)}</Text>],
        [t('payments.fields.status'), <StatusBadge key="s" status={payment.status} />],
        [t('payments.fields.date'), formatDateTime(payment.date, locale)],
        [t('payments.fields.thirdParty'), payment.third_party],
        [t('payments.fields.customer'), payment.customer_name || payment.customer_id],
        [
          t('payments.fields.executedBy'),
          payment.user_name ? `${payment.user_name}${payment.user_email ? ` (${payment.user_email})` : ''}` : payment.user_id,
        ],
        [t('payments.fields.description'), payment.description || '—'],
        [t('payments.fields.reference'), <Copyable key="r" value={payment.payment_ref_id} />],
        [t('payments.fields.id'), <Copyable key="i" value={payment.id} />],
        [t('payments.fields.currency'), payment.currency],
        [t('payments.fields.createdAt'), formatDateTime(payment.created_at, locale)],
        [t('payments.fields.updatedAt'), formatDateTime(payment.updated_at, locale)],
      ]
    : [];
  return (
    <Drawer opened={payment !== null} onClose={onClose} title={t('payments.details')} position="right" size="md">
      <Stack>
        <Table variant="vertical" layout="fixed" withTableBorder={false}>
          <Table.Tbody>
            {rows.map(([label, value]) => (
              <Table.Tr key={label}>
                <Table.Th w={140}>{label}</Table.Th>
                <Table.Td style={{ wordBreak: 'break-word' }}>{value}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Stack>
    </Drawer>
  );
}
