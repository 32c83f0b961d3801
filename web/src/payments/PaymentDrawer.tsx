import { useEffect, useRef } from 'react';
import { ActionIcon, Alert, Button, CopyButton, Drawer, Group, Skeleton, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { IconAlertCircle, IconCheck, IconCopy, IconLink } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { setConsistencyToken, useConsistencyToken } from '../api/consistency';
import type { Payment } from '../api/types';
import { ProblemAlert } from '../components/ProblemAlert';
import { useApi } from '../auth/context';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { ExecutedBy } from './ExecutedBy';
import { formatDateTime } from './format';
import { failureLabel, hasPendingRefund, isMoving, refundsOf, refundState } from './lifecycle';
import { PaymentActions } from './PaymentActions';
import { PaymentTimeline } from './PaymentTimeline';
import { StatusBadge } from './StatusBadge';

/** LIVE_REFRESH_MS is how often an open drawer asks again while the payment is still moving. */
export const LIVE_REFRESH_MS = 3000;

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

/** PaymentDrawerProps configures PaymentDrawer. */
export interface PaymentDrawerProps {
  /** paymentId is the payment of the URL (`/payments/:paymentId`), or null when none is open. */
  paymentId: string | null;
  /** row is the list's copy of the payment, shown at once while the fresh one loads; absent on a shared link. */
  row?: Payment;
  onClose: () => void;
}

/**
 * PaymentDrawer is the detail page `/payments/:paymentId`: every field of one payment, its
 * refunds, its timeline and the actions it allows, over the list it was opened from. It reads the
 * payment and its events by id (a shared or reloaded link has no row to start from), with the
 * newest consistency token, so what an action just changed shows at once; while the payment (or
 * one of its refunds) is still being processed it keeps asking.
 */
export function PaymentDrawer({ paymentId, row, onClose }: PaymentDrawerProps) {
  const { t } = useTranslation();
  return (
    <Drawer opened={paymentId !== null} onClose={onClose} title={t('payments.details')} position="right" size="md">
      {paymentId && <PaymentDetails key={paymentId} id={paymentId} row={row} />}
    </Drawer>
  );
}

function PaymentDetails({ id, row }: { id: string; row?: Payment }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const api = useApi();
  const queryClient = useQueryClient();
  const token = useConsistencyToken();
  const headingRef = useRef<HTMLDivElement>(null);

  const events = useQuery({
    queryKey: ['payment-events', id, token],
    queryFn: ({ signal }) => api.paymentEvents(id, token, signal),
    placeholderData: (prev) => prev,
    refetchInterval: (q) => (q.state.data && hasPendingRefund(q.state.data) ? LIVE_REFRESH_MS : false),
  });
  const fresh = useQuery({
    queryKey: ['payment', id, token],
    queryFn: ({ signal }) => api.getPayment(id, token, signal),
    placeholderData: (prev) => (prev?.id === id ? prev : row),
    refetchInterval: (q) => {
      const p = q.state.data;
      return (p && isMoving(p.status)) || (events.data && hasPendingRefund(events.data)) ? LIVE_REFRESH_MS : false;
    },
  });
  const payment = fresh.data ?? row;

  // The processor moved the payment on while the drawer was open: the list behind it is stale.
  const status = payment?.status;
  const refunded = payment?.amount_refunded;
  useEffect(() => {
    if (!row || (status === row.status && refunded === row.amount_refunded)) return;
    void queryClient.invalidateQueries({ queryKey: ['payments'] });
    void queryClient.invalidateQueries({ queryKey: ['summary'] });
  }, [status, refunded, row, queryClient]);

  if (!payment) {
    return fresh.error ? (
      <ProblemAlert error={fresh.error} title={t('payments.detailLoadError')} />
    ) : (
      <Stack gap={6} aria-busy="true">
        <Skeleton height={48} />
        <Skeleton height={200} />
      </Stack>
    );
  }

  const onDone = (next: string | null) => {
    // The token re-keys the drawer's and the list's queries: they read again, including this write.
    setConsistencyToken(next);
    void queryClient.invalidateQueries({ queryKey: ['payment', id] });
    void queryClient.invalidateQueries({ queryKey: ['payment-events', id] });
    void queryClient.invalidateQueries({ queryKey: ['payments'] });
    void queryClient.invalidateQueries({ queryKey: ['summary'] });
    void queryClient.invalidateQueries({ queryKey: ['dead-letters'] });
    headingRef.current?.focus();
  };

  const refunds = events.data ? refundsOf(events.data) : [];
  const shareUrl = `${window.location.origin}/payments/${encodeURIComponent(payment.id)}`;
  const refund = refundState(payment);
  const rows: [string, ReactNode][] = [
    [t('payments.fields.date'), formatDateTime(payment.date, locale)],
    [t('payments.fields.thirdParty'), payment.third_party],
    [t('payments.fields.customer'), payment.customer_name || payment.customer_id],
    [t('payments.fields.executedBy'), <ExecutedBy key="e" payment={payment} inline />],
    [t('payments.fields.description'), payment.description || '—'],
    [t('payments.fields.attempts'), String(payment.attempts)],
    [t('payments.fields.processedAt'), payment.processed_at ? formatDateTime(payment.processed_at, locale) : '—'],
    [
      t('payments.fields.refunded'),
      refund === 'none'
        ? '—'
        : t('payments.refundedOf', {
            refunded: formatMoney(payment.amount_refunded, payment.currency, locale),
            amount: formatMoney(payment.amount, payment.currency, locale),
          }),
    ],
    [t('payments.fields.reference'), <Copyable key="r" value={payment.payment_ref_id} />],
    [t('payments.fields.id'), <Copyable key="i" value={payment.id} />],
    [t('payments.fields.currency'), payment.currency],
    [t('payments.fields.createdAt'), formatDateTime(payment.created_at, locale)],
    [t('payments.fields.updatedAt'), formatDateTime(payment.updated_at, locale)],
  ];

  return (
    <Stack gap="md">
      <div ref={headingRef} tabIndex={-1} data-testid="payment-heading" style={{ outlineOffset: 4 }}>
        <Text size="sm" c="dimmed">
          {t('payments.fields.amount')}
        </Text>
        <Group gap="sm" align="center" wrap="wrap">
          <Text fw={700} size="xl" className="tabular">
            {formatMoney(payment.amount, payment.currency, locale)}
          </Text>
          <StatusBadge status={payment.status} />
          {refund !== 'none' && (
            <Text size="sm" c="dimmed">
              {t(`payments.refundState.${refund}`)}
            </Text>
          )}
        </Group>
        {isMoving(payment.status) && (
          <Text size="xs" c="dimmed" mt={4}>
            {t('timeline.live')}
          </Text>
        )}
      </div>

      {payment.status === 'failed' && (payment.failure_code || payment.failure_message) && (
        <Alert
          color="red"
          variant="light"
          icon={<IconAlertCircle aria-hidden />}
          title={payment.failure_code ? failureLabel(payment.failure_code, t) : t('payments.fields.failure')}
          data-testid="failure-alert"
        >
          {payment.failure_message && <Text size="sm">{payment.failure_message}</Text>}
          <Text size="xs" c="dimmed" mt={4}>
            {t('payments.fields.attempts')}: {payment.attempts}
          </Text>
        </Alert>
      )}

      <Group gap="xs">
        <CopyButton value={shareUrl} timeout={1500}>
          {({ copied, copy }) => (
            <Button
              size="xs"
              variant="default"
              onClick={copy}
              leftSection={copied ? <IconCheck size={14} aria-hidden /> : <IconLink size={14} aria-hidden />}
              data-share-url={shareUrl}
            >
              {copied ? t('payments.linkCopied') : t('payments.copyLink')}
            </Button>
          )}
        </CopyButton>
      </Group>

      <PaymentActions payment={payment} onDone={onDone} />

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

      {refunds.length > 0 && (
        <Stack gap="xs" component="section" aria-labelledby="payment-refunds-title">
          <Title order={3} size="h5" id="payment-refunds-title">
            {t('payments.refunds.title')}
          </Title>
          <Table withTableBorder={false} verticalSpacing={4} data-testid="payment-refunds">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('payments.refunds.date')}</Table.Th>
                <Table.Th ta="right">{t('payments.refunds.amount')}</Table.Th>
                <Table.Th>{t('payments.refunds.state')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {refunds.map((r) => (
                <Table.Tr key={r.id} data-refund-state={r.state}>
                  <Table.Td className="tabular">{formatDateTime(r.at, locale)}</Table.Td>
                  <Table.Td className="tabular" ta="right">
                    {formatMoney(r.amount, payment.currency, locale)}
                  </Table.Td>
                  <Table.Td>{t(`payments.refunds.states.${r.state}`)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      )}

      <Stack gap="xs" component="section" aria-labelledby="payment-timeline-title">
        <Title order={3} size="h5" id="payment-timeline-title">
          {t('timeline.title')}
        </Title>
        <PaymentTimeline events={events.data} currency={payment.currency} loading={events.isPending} error={events.error} />
      </Stack>
    </Stack>
  );
}
