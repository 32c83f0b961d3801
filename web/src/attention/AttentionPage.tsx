import { useState } from 'react';
import { Anchor, Button, Group, MultiSelect, Paper, Skeleton, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '@tabler/icons-react';
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { setConsistencyToken, useConsistencyToken } from '../api/consistency';
import type { CreatedPayment } from '../api/types';
import { useApi } from '../auth/context';
import { describeError } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatDateTime, shortRef } from '../payments/format';
import { failureLabel, useCanAct } from '../payments/lifecycle';

const PAGE_SIZE = 25;

/**
 * AttentionPage lists the dead letters of the caller's customers (GET /v1/dead-letters on the
 * command API): payments that failed after every retry, with their attempts and last error, and a
 * button that re-drives each one (same provider idempotency key, so never a double charge).
 */
export function AttentionPage() {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const token = useConsistencyToken();
  const [customerIds, setCustomerIds] = useState<string[]>([]);

  const customers = useQuery({
    queryKey: ['customers', token],
    queryFn: ({ signal }) => api.listCustomers(token, signal),
    placeholderData: keepPreviousData,
  });
  const names = new Map((customers.data ?? []).map((c) => [c.id, c.name]));

  const letters = useInfiniteQuery({
    queryKey: ['dead-letters', customerIds],
    queryFn: ({ pageParam, signal }) => {
      const q = new URLSearchParams();
      customerIds.forEach((id) => q.append('customer_id', id));
      q.set('limit', String(PAGE_SIZE));
      if (pageParam) q.set('cursor', pageParam);
      return api.deadLetters(q, signal);
    },
    initialPageParam: '',
    getNextPageParam: (last) => (last.has_more && last.next_cursor ? last.next_cursor : undefined),
    placeholderData: keepPreviousData,
  });
  const items = letters.data?.pages.flatMap((p) => p.data) ?? [];

  const onRetried = (p: CreatedPayment, consistency: string | null) => {
    setConsistencyToken(consistency);
    notifications.show({ color: 'green', message: t('attention.retried', { thirdParty: p.third_party }) });
    void queryClient.invalidateQueries({ queryKey: ['dead-letters'] });
    void queryClient.invalidateQueries({ queryKey: ['payments'] });
    void queryClient.invalidateQueries({ queryKey: ['summary'] });
  };

  return (
    <Stack gap="md">
      <Group justify="space-between" gap="xs" wrap="wrap" align="flex-end">
        <Stack gap={4} style={{ flex: '1 1 320px' }}>
          <Title order={1} size="h2">
            {t('attention.title')}
          </Title>
          <Text c="dimmed" size="sm">
            {t('attention.subtitle')}
          </Text>
        </Stack>
        <Button
          variant="subtle"
          size="xs"
          leftSection={<IconRefresh size={14} aria-hidden />}
          onClick={() => void letters.refetch()}
          loading={letters.isFetching && !letters.isFetchingNextPage}
        >
          {t('payments.refresh')}
        </Button>
      </Group>

      {(customers.data?.length ?? 0) > 1 && (
        <MultiSelect
          label={t('attention.customers')}
          data={(customers.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
          value={customerIds}
          onChange={setCustomerIds}
          searchable
          clearable
          hidePickedOptions
          nothingFoundMessage={t('filters.nothingFound')}
          maw={480}
        />
      )}

      {letters.error ? (
        <ProblemAlert error={letters.error} title={t('attention.loadError')} />
      ) : letters.isPending ? (
        <Stack gap={6} aria-busy="true">
          {Array.from({ length: 3 }, (_, i) => (
            <Skeleton key={i} height={88} radius="md" />
          ))}
        </Stack>
      ) : items.length === 0 ? (
        <Paper withBorder p="xl" radius="md" ta="center">
          <Text>{t('attention.empty')}</Text>
        </Paper>
      ) : (
        <Stack
          gap="xs"
          component="ul"
          aria-label={t('attention.list')}
          aria-busy={letters.isFetching}
          p={0}
          m={0}
          style={{ listStyle: 'none' }}
        >
          {items.map((p) => (
            <li key={p.id}>
              <DeadLetter payment={p} customerName={names.get(p.customer_id) ?? p.customer_id} onRetried={onRetried} />
            </li>
          ))}
        </Stack>
      )}

      {letters.hasNextPage && (
        <Group justify="center">
          <Button variant="default" onClick={() => void letters.fetchNextPage()} loading={letters.isFetchingNextPage}>
            {t('attention.loadMore')}
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function DeadLetter({
  payment: p,
  customerName,
  onRetried,
}: {
  payment: CreatedPayment;
  customerName: string;
  onRetried: (p: CreatedPayment, consistencyToken: string | null) => void;
}) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const api = useApi();
  const canAct = useCanAct();
  const [busy, setBusy] = useState(false);

  const retry = async () => {
    setBusy(true);
    try {
      const res = await api.retryPayment(p.id);
      onRetried(res.value, res.consistencyToken);
    } catch (err) {
      const d = describeError(err, t);
      notifications.show({ color: 'red', title: t('actions.failed'), message: d.message || d.title });
      setBusy(false);
    }
  };

  return (
    <Paper withBorder radius="md" p="sm" data-testid="dead-letter" data-payment-id={p.id}>
      <Group justify="space-between" align="flex-start" gap="sm" wrap="wrap">
        <Stack gap={2} style={{ minWidth: 0, flex: '1 1 240px' }}>
          <Group gap="xs" wrap="wrap">
            <Text fw={700} className="tabular">
              {formatMoney(p.amount, p.currency, locale)}
            </Text>
            <Text fw={600} style={{ wordBreak: 'break-word' }}>
              {p.third_party}
            </Text>
          </Group>
          <Text size="sm" c="dimmed">
            {customerName} · {formatDateTime(p.date, locale)} ·{' '}
            <Anchor component={Link} to={`/payments?payment_ref_id=${encodeURIComponent(p.payment_ref_id)}`} size="sm" className="mono">
              {shortRef(p.payment_ref_id)}
            </Anchor>
          </Text>
          <Text size="sm">
            <Text span fw={600}>
              {t('attention.attempts')}:
            </Text>{' '}
            <span data-testid="dead-letter-attempts">{p.attempts}</span>
          </Text>
          <Text size="sm" style={{ wordBreak: 'break-word' }}>
            <Text span fw={600}>
              {t('attention.lastError')}:
            </Text>{' '}
            <span data-testid="dead-letter-error">{p.failure_message ?? (p.failure_code ? failureLabel(p.failure_code, t) : '—')}</span>
          </Text>
        </Stack>
        {canAct('retry', p) && (
          <Button
            leftSection={<IconRefresh size={16} aria-hidden />}
            loading={busy}
            onClick={() => void retry()}
            aria-label={t('attention.retryLabel', { ref: shortRef(p.payment_ref_id) })}
          >
            {t('attention.retry')}
          </Button>
        )}
      </Group>
    </Paper>
  );
}
