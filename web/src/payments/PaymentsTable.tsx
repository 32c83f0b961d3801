import { ActionIcon, Anchor, CopyButton, Group, Table, Tooltip, UnstyledButton } from '@mantine/core';
import { IconArrowDown, IconArrowUp, IconArrowsSort, IconCheck, IconCopy } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import type { Payment } from '../api/types';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { ExecutedBy } from './ExecutedBy';
import type { SortKey } from './filters';
import { formatDateTime, refLabel } from './format';
import { FailureReason, RefundHint, StatusBadge } from './StatusBadge';

/** PaymentListProps is shared by the table (desktop) and the cards (phone). */
export interface PaymentListProps {
  payments: Payment[];
  onOpen: (p: Payment) => void;
  highlightId?: string | null;
  busy?: boolean;
}

function SortHeader({
  column,
  label,
  sort,
  onSort,
  align,
}: {
  column: 'date' | 'amount';
  label: string;
  sort: SortKey;
  onSort: (s: SortKey) => void;
  align?: 'right';
}) {
  const { t } = useTranslation();
  const active = sort === column || sort === `-${column}`;
  const desc = sort === `-${column}`;
  const Icon = !active ? IconArrowsSort : desc ? IconArrowDown : IconArrowUp;
  // Dates default to newest first, amounts to largest first: the order people look for first.
  const next: SortKey = active ? (desc ? column : `-${column}`) : `-${column}`;
  return (
    <Table.Th aria-sort={active ? (desc ? 'descending' : 'ascending') : 'none'} style={align ? { textAlign: align } : undefined}>
      <UnstyledButton onClick={() => onSort(next)} fw={700} fz="sm" aria-label={t('payments.sortBy', { column: label })}>
        <Group gap={4} wrap="nowrap" justify={align === 'right' ? 'flex-end' : 'flex-start'}>
          {label}
          <Icon size={14} aria-hidden />
        </Group>
      </UnstyledButton>
    </Table.Th>
  );
}

/** PaymentsTable is the desktop list: one row per payment, sortable by date and amount. */
export function PaymentsTable({
  payments,
  onOpen,
  highlightId,
  busy,
  sort,
  onSort,
}: PaymentListProps & { sort: SortKey; onSort: (s: SortKey) => void }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  return (
    <Table.ScrollContainer minWidth={960} type="native">
      <Table
        className="payments-table"
        striped
        highlightOnHover
        verticalSpacing="xs"
        aria-busy={busy}
        aria-label={t('payments.title')}
      >
        <Table.Thead>
          <Table.Tr>
            <SortHeader column="date" label={t('payments.columns.date')} sort={sort} onSort={onSort} />
            <Table.Th>{t('payments.columns.reference')}</Table.Th>
            <Table.Th>{t('payments.columns.customer')}</Table.Th>
            <Table.Th>{t('payments.columns.executedBy')}</Table.Th>
            <Table.Th>{t('payments.columns.thirdParty')}</Table.Th>
            <SortHeader column="amount" label={t('payments.columns.amount')} sort={sort} onSort={onSort} align="right" />
            <Table.Th>{t('payments.columns.status')}</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {payments.map((p) => (
            <Table.Tr
              key={p.id}
              data-testid="payment-row"
              data-payment-id={p.id}
              bg={p.id === highlightId ? 'var(--mantine-primary-color-light)' : undefined}
            >
              <Table.Td className="tabular">{formatDateTime(p.date, locale)}</Table.Td>
              <Table.Td>
                <Group gap={2} wrap="nowrap">
                  <Anchor
                    component="button"
                    type="button"
                    className="mono"
                    onClick={() => onOpen(p)}
                    title={p.payment_ref_id}
                    aria-label={t('payments.openDetails', { ref: p.payment_ref_id })}
                  >
                    {refLabel(p.payment_ref_id)}
                  </Anchor>
                  <CopyButton value={p.payment_ref_id} timeout={1500}>
                    {({ copied, copy }) => (
                      <Tooltip label={copied ? t('payments.copied') : t('payments.copyReference')} withArrow>
                        <ActionIcon
                          size="sm"
                          variant="subtle"
                          color={copied ? 'teal' : 'gray'}
                          onClick={copy}
                          aria-label={t('payments.copyReferenceOf', { ref: p.payment_ref_id })}
                        >
                          {copied ? <IconCheck size={14} aria-hidden /> : <IconCopy size={14} aria-hidden />}
                        </ActionIcon>
                      </Tooltip>
                    )}
                  </CopyButton>
                </Group>
              </Table.Td>
              <Table.Td>{p.customer_name || p.customer_id}</Table.Td>
              <Table.Td>
                <ExecutedBy payment={p} />
              </Table.Td>
              <Table.Td className="wrap">{p.third_party}</Table.Td>
              <Table.Td className="tabular" ta="right" fw={600}>
                <span data-testid="payment-amount">{formatMoney(p.amount, p.currency, locale)}</span>
                <RefundHint amount={p.amount} refunded={p.amount_refunded} />
              </Table.Td>
              <Table.Td>
                <StatusBadge status={p.status} />
                {p.status === 'failed' && <FailureReason code={p.failure_code} message={p.failure_message} />}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
