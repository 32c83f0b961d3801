import { ActionIcon, Anchor, CopyButton, Group, Table, Tooltip, UnstyledButton } from '@mantine/core';
import { IconArrowDown, IconArrowUp, IconArrowsSort, IconCheck, IconCopy } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import type { Payment } from '../api/types';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { ExecutedBy } from './ExecutedBy';
import { DEFAULT_COLUMNS, type ColumnKey, type Density } from './columns';
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

/** PaymentsTableProps configures PaymentsTable. */
export interface PaymentsTableProps extends PaymentListProps {
  sort: SortKey;
  onSort: (s: SortKey) => void;
  /** columns are the shown columns, in display order. */
  columns?: readonly ColumnKey[];
  density?: Density;
  /** amountSortable is true when one currency is filtered: only then are amounts comparable. */
  amountSortable?: boolean;
}

/** PaymentsTable is the desktop list: one row per payment, the chosen columns, sortable by date (and amount within one currency). */
export function PaymentsTable({
  payments,
  onOpen,
  highlightId,
  busy,
  sort,
  onSort,
  columns = DEFAULT_COLUMNS,
  density = 'comfortable',
  amountSortable = false,
}: PaymentsTableProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const header = (c: ColumnKey) => {
    const label = t(`payments.columns.${c}`);
    if (c === 'date') return <SortHeader key={c} column="date" label={label} sort={sort} onSort={onSort} />;
    if (c === 'amount') {
      return amountSortable ? (
        <SortHeader key={c} column="amount" label={label} sort={sort} onSort={onSort} align="right" />
      ) : (
        <Table.Th key={c} style={{ textAlign: 'right' }}>
          {label}
        </Table.Th>
      );
    }
    return (
      <Table.Th key={c} style={c === 'refunded' || c === 'attempts' ? { textAlign: 'right' } : undefined}>
        {label}
      </Table.Th>
    );
  };
  const cell = (c: ColumnKey, p: Payment) => {
    switch (c) {
      case 'date':
        return (
          <Table.Td key={c} className="tabular">
            {formatDateTime(p.date, locale)}
          </Table.Td>
        );
      case 'reference':
        return (
          <Table.Td key={c}>
            <Group gap={2} wrap="nowrap">
              <Anchor
                component="button"
                type="button"
                className="mono"
                onClick={() => onOpen(p)}
                title={p.payment_ref_id}
                // The name starts with the text shown (WCAG 2.5.3, label in name), then says what it does.
                aria-label={`${refLabel(p.payment_ref_id)}: ${t('payments.openDetails', { ref: p.payment_ref_id })}`}
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
        );
      case 'customer':
        return <Table.Td key={c}>{p.customer_name || p.customer_id}</Table.Td>;
      case 'executedBy':
        return (
          <Table.Td key={c}>
            <ExecutedBy payment={p} />
          </Table.Td>
        );
      case 'thirdParty':
        return (
          <Table.Td key={c} className="wrap">
            {p.third_party}
          </Table.Td>
        );
      case 'description':
        return (
          <Table.Td key={c} className="wrap">
            {p.description || '—'}
          </Table.Td>
        );
      case 'amount':
        return (
          <Table.Td key={c} className="tabular" ta="right" fw={600}>
            <span data-testid="payment-amount">{formatMoney(p.amount, p.currency, locale)}</span>
            <RefundHint amount={p.amount} refunded={p.amount_refunded} />
          </Table.Td>
        );
      case 'refunded':
        return (
          <Table.Td key={c} className="tabular" ta="right">
            {p.amount_refunded > 0 ? formatMoney(p.amount_refunded, p.currency, locale) : '—'}
          </Table.Td>
        );
      case 'status':
        return (
          <Table.Td key={c}>
            <StatusBadge status={p.status} />
            {p.status === 'failed' && <FailureReason code={p.failure_code} message={p.failure_message} />}
          </Table.Td>
        );
      case 'attempts':
        return (
          <Table.Td key={c} className="tabular" ta="right">
            {p.attempts}
          </Table.Td>
        );
      case 'processedAt':
        return (
          <Table.Td key={c} className="tabular">
            {p.processed_at ? formatDateTime(p.processed_at, locale) : '—'}
          </Table.Td>
        );
      case 'id':
        return (
          <Table.Td key={c} className="mono" style={{ wordBreak: 'break-all' }}>
            {p.id}
          </Table.Td>
        );
    }
  };
  return (
    <Table.ScrollContainer minWidth={Math.max(640, columns.length * 135)} type="native">
      <Table
        className="payments-table"
        striped
        highlightOnHover
        verticalSpacing={density === 'compact' ? 2 : 'xs'}
        fz={density === 'compact' ? 'xs' : undefined}
        aria-busy={busy}
        aria-label={t('payments.title')}
        data-density={density}
      >
        <Table.Thead>
          <Table.Tr>{columns.map(header)}</Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {payments.map((p) => (
            <Table.Tr
              key={p.id}
              data-testid="payment-row"
              data-payment-id={p.id}
              bg={p.id === highlightId ? 'var(--mantine-primary-color-light)' : undefined}
            >
              {columns.map((c) => cell(c, p))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
