import { Fragment, useState } from 'react';
import { ActionIcon, Badge, Button, Code, Group, Paper, Skeleton, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconChevronDown, IconChevronRight, IconRefresh, IconSend } from '@tabler/icons-react';
import { keepPreviousData, useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { WebhookDelivery, WebhookDeliveryStatus } from '../api/types';
import { useApi } from '../auth/context';
import { describeError } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatDateTime, shortRef } from '../payments/format';
import { deliveriesKey } from './keys';

/** DELIVERY_PAGE_SIZE is how many deliveries one page asks for (the API's default). */
export const DELIVERY_PAGE_SIZE = 25;

/** DELIVERY_REFRESH_MS is how often the log is read again while a delivery on it is pending. */
export const DELIVERY_REFRESH_MS = 5000;

const STATUS_COLORS: Record<WebhookDeliveryStatus, string> = { pending: 'blue', succeeded: 'green', failed: 'red' };


/** DeliveryStatusBadge names a delivery's status in words, with its own colour. */
export function DeliveryStatusBadge({ status }: { status: WebhookDeliveryStatus }) {
  const { t } = useTranslation();
  return (
    <Badge color={STATUS_COLORS[status]} variant="dot" radius="sm" tt="none" data-status={status} data-testid="delivery-status">
      {t(`integrations.deliveries.statuses.${status}`)}
    </Badge>
  );
}

/**
 * DeliveryLog is an endpoint's deliveries, newest first, a page at a time (next_cursor): a table
 * on wide screens and cards on a phone. Each one opens to show every attempt and what came back,
 * and can be sent again.
 */
export function DeliveryLog({ customerId, endpointId }: { customerId: string; endpointId: string }) {
  const { t } = useTranslation();
  const api = useApi();
  const queryClient = useQueryClient();
  const isPhone = useMediaQuery('(max-width: 48em)', false, { getInitialValueInEffect: false });
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());

  const log = useInfiniteQuery({
    queryKey: deliveriesKey(customerId, endpointId),
    queryFn: ({ pageParam, signal }) => api.webhookDeliveries(customerId, endpointId, { limit: DELIVERY_PAGE_SIZE, cursor: pageParam }, signal),
    initialPageParam: '',
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.pages.some((p) => p.data.some((d) => d.status === 'pending')) ? DELIVERY_REFRESH_MS : false),
  });
  const items = log.data?.pages.flatMap((p) => p.data) ?? [];

  const toggle = (id: string) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });

  const redeliver = async (d: WebhookDelivery) => {
    try {
      await api.redeliverWebhook(customerId, endpointId, d.id);
      notifications.show({ color: 'green', message: t('integrations.deliveries.redelivered') });
      await queryClient.invalidateQueries({ queryKey: deliveriesKey(customerId, endpointId) });
    } catch (err) {
      const e = describeError(err, t);
      notifications.show({ color: 'red', title: t('actions.failed'), message: e.message || e.title });
    }
  };

  return (
    <Stack gap="sm" component="section" aria-labelledby="deliveries-title">
      <Group justify="space-between" gap="xs">
        <Title order={2} size="h3" id="deliveries-title">
          {t('integrations.deliveries.title')}
        </Title>
        <Button
          variant="subtle"
          size="xs"
          leftSection={<IconRefresh size={14} aria-hidden />}
          onClick={() => void log.refetch()}
          loading={log.isFetching && !log.isFetchingNextPage}
        >
          {t('payments.refresh')}
        </Button>
      </Group>

      {log.error ? (
        <ProblemAlert error={log.error} title={t('integrations.deliveries.loadError')} />
      ) : log.isPending ? (
        <Stack gap={6} aria-busy="true">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} height={isPhone ? 96 : 40} radius="sm" />
          ))}
        </Stack>
      ) : items.length === 0 ? (
        <Paper withBorder p="lg" radius="md" ta="center">
          <Text>{t('integrations.deliveries.empty')}</Text>
        </Paper>
      ) : isPhone ? (
        <Stack gap="xs" component="ul" aria-label={t('integrations.deliveries.table')} p={0} m={0} style={{ listStyle: 'none' }}>
          {items.map((d) => (
            <li key={d.id}>
              <DeliveryCard delivery={d} open={open.has(d.id)} onToggle={() => toggle(d.id)} onRedeliver={() => redeliver(d)} />
            </li>
          ))}
        </Stack>
      ) : (
        <DeliveryTable items={items} open={open} onToggle={toggle} onRedeliver={redeliver} busy={log.isFetching} />
      )}

      {log.hasNextPage && (
        <Group justify="center">
          <Button variant="default" onClick={() => void log.fetchNextPage()} loading={log.isFetchingNextPage}>
            {t('integrations.deliveries.loadMore')}
          </Button>
        </Group>
      )}
    </Stack>
  );
}

function DeliveryTable({
  items,
  open,
  onToggle,
  onRedeliver,
  busy,
}: {
  items: WebhookDelivery[];
  open: ReadonlySet<string>;
  onToggle: (id: string) => void;
  onRedeliver: (d: WebhookDelivery) => Promise<void>;
  busy: boolean;
}) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  return (
    <Table.ScrollContainer minWidth={860} type="native">
      <Table striped verticalSpacing="xs" aria-label={t('integrations.deliveries.table')} aria-busy={busy}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <VisuallyHidden>{t('integrations.deliveries.responses')}</VisuallyHidden>
            </Table.Th>
            <Table.Th>{t('integrations.deliveries.eventType')}</Table.Th>
            <Table.Th>{t('integrations.deliveries.eventId')}</Table.Th>
            <Table.Th>{t('integrations.deliveries.status')}</Table.Th>
            <Table.Th ta="right">{t('integrations.deliveries.attempts')}</Table.Th>
            <Table.Th>{t('integrations.deliveries.created')}</Table.Th>
            <Table.Th>{t('integrations.deliveries.delivered')}</Table.Th>
            <Table.Th>
              <VisuallyHidden>{t('integrations.deliveries.actions')}</VisuallyHidden>
            </Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((d) => {
            const expanded = open.has(d.id);
            const detailsId = `delivery-${d.id}-details`;
            return (
              <Fragment key={d.id}>
                <Table.Tr data-testid="delivery-row" data-delivery-id={d.id}>
                  <Table.Td>
                    <ToggleButton delivery={d} expanded={expanded} controls={detailsId} onToggle={() => onToggle(d.id)} />
                  </Table.Td>
                  <Table.Td className="mono">{d.event_type}</Table.Td>
                  <Table.Td className="mono" title={d.event_id}>
                    {shortRef(d.event_id)}
                  </Table.Td>
                  <Table.Td>
                    <DeliveryStatusBadge status={d.status} />
                  </Table.Td>
                  <Table.Td ta="right" className="tabular">
                    {d.attempts}
                  </Table.Td>
                  <Table.Td className="tabular">{formatDateTime(d.created_at, locale)}</Table.Td>
                  <Table.Td className="tabular">
                    <DeliveredOrNext delivery={d} />
                  </Table.Td>
                  <Table.Td>
                    <RedeliverButton delivery={d} onRedeliver={onRedeliver} />
                  </Table.Td>
                </Table.Tr>
                {expanded && (
                  <Table.Tr id={detailsId}>
                    <Table.Td colSpan={8} bg="var(--mantine-color-default-hover)">
                      <DeliveryDetails delivery={d} />
                    </Table.Td>
                  </Table.Tr>
                )}
              </Fragment>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function DeliveryCard({
  delivery: d,
  open,
  onToggle,
  onRedeliver,
}: {
  delivery: WebhookDelivery;
  open: boolean;
  onToggle: () => void;
  onRedeliver: (d: WebhookDelivery) => Promise<void>;
}) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const detailsId = `delivery-${d.id}-details`;
  return (
    <Paper withBorder radius="md" p="sm" data-testid="delivery-card" data-delivery-id={d.id}>
      <Group justify="space-between" align="flex-start" gap="xs" wrap="nowrap">
        <Stack gap={2} style={{ minWidth: 0 }}>
          <Text fw={600} className="mono" size="sm" style={{ wordBreak: 'break-all' }}>
            {d.event_type}
          </Text>
          <Text size="xs" c="dimmed" className="mono" style={{ wordBreak: 'break-all' }}>
            {d.event_id}
          </Text>
        </Stack>
        <DeliveryStatusBadge status={d.status} />
      </Group>
      <Text size="xs" c="dimmed" mt={4} className="tabular">
        {formatDateTime(d.created_at, locale)} · {t('integrations.deliveries.attempts')}: {d.attempts}
      </Text>
      <Text size="xs" c="dimmed" className="tabular">
        <DeliveredOrNext delivery={d} />
      </Text>
      <Group justify="space-between" mt={6} gap="xs">
        <Button
          variant="subtle"
          size="xs"
          px={4}
          onClick={onToggle}
          aria-expanded={open}
          aria-controls={detailsId}
          leftSection={open ? <IconChevronDown size={14} aria-hidden /> : <IconChevronRight size={14} aria-hidden />}
        >
          {t('integrations.deliveries.responses')} ({d.responses.length})
        </Button>
        <RedeliverButton delivery={d} onRedeliver={onRedeliver} />
      </Group>
      {open && (
        <div id={detailsId}>
          <DeliveryDetails delivery={d} />
        </div>
      )}
    </Paper>
  );
}

function ToggleButton({
  delivery: d,
  expanded,
  controls,
  onToggle,
}: {
  delivery: WebhookDelivery;
  expanded: boolean;
  controls: string;
  onToggle: () => void;
}) {
  const { t } = useTranslation();
  const label = t(expanded ? 'integrations.deliveries.collapse' : 'integrations.deliveries.expand', {
    event: d.event_type,
    id: shortRef(d.event_id),
  });
  return (
    <ActionIcon variant="subtle" color="gray" onClick={onToggle} aria-expanded={expanded} aria-controls={controls} aria-label={label}>
      {expanded ? <IconChevronDown size={16} aria-hidden /> : <IconChevronRight size={16} aria-hidden />}
    </ActionIcon>
  );
}

function DeliveredOrNext({ delivery: d }: { delivery: WebhookDelivery }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  if (d.delivered_at) return <>{t('integrations.deliveries.deliveredAt', { date: formatDateTime(d.delivered_at, locale) })}</>;
  if (d.next_attempt_at) return <>{t('integrations.deliveries.nextAttempt', { date: formatDateTime(d.next_attempt_at, locale) })}</>;
  return <>—</>;
}

function RedeliverButton({ delivery: d, onRedeliver }: { delivery: WebhookDelivery; onRedeliver: (d: WebhookDelivery) => Promise<void> }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  return (
    <Button
      variant="light"
      size="xs"
      leftSection={<IconSend size={14} aria-hidden />}
      loading={busy}
      onClick={() => {
        setBusy(true);
        void onRedeliver(d).finally(() => setBusy(false));
      }}
      aria-label={t('integrations.deliveries.redeliverLabel', { event: d.event_type, id: shortRef(d.event_id) })}
    >
      {t('integrations.deliveries.redeliver')}
    </Button>
  );
}

/** DeliveryDetails lists every attempt of a delivery with what came back, and the payload sent. */
export function DeliveryDetails({ delivery: d }: { delivery: WebhookDelivery }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  return (
    <Stack gap="xs" py={4} data-testid="delivery-details">
      <Text size="sm" fw={600}>
        {t('integrations.deliveries.responses')}
      </Text>
      {d.responses.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('integrations.deliveries.noResponses')}
        </Text>
      ) : (
        <Stack gap="xs" component="ol" p={0} m={0} style={{ listStyle: 'none' }}>
          {d.responses.map((r) => (
            <Paper key={r.attempt} component="li" withBorder radius="sm" p="xs" data-testid="delivery-response">
              <Group gap="xs" wrap="wrap">
                <Text size="sm" fw={600}>
                  {t('integrations.deliveries.attempt', { attempt: r.attempt })}
                </Text>
                <Text size="sm" className="tabular">
                  {formatDateTime(r.started_at, locale)}
                </Text>
                <Text size="sm" c="dimmed" className="tabular">
                  {t('integrations.deliveries.duration', { ms: r.duration_ms })}
                </Text>
                <Badge
                  variant="dot"
                  radius="sm"
                  tt="none"
                  color={r.status_code !== null && r.status_code >= 200 && r.status_code < 300 ? 'green' : 'red'}
                >
                  {r.status_code !== null ? t('integrations.deliveries.statusCode', { code: r.status_code }) : t('integrations.deliveries.noStatus')}
                </Badge>
              </Group>
              {r.error && (
                <Text size="sm" c="red.9" mt={4} style={{ wordBreak: 'break-word' }}>
                  {t('integrations.deliveries.error')}: {r.error}
                </Text>
              )}
              <Text size="xs" c="dimmed" mt={4}>
                {t('integrations.deliveries.responseBody')}
              </Text>
              <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
                {r.response_body || t('integrations.deliveries.emptyBody')}
              </Code>
            </Paper>
          ))}
        </Stack>
      )}
      <Text size="sm" fw={600}>
        {t('integrations.deliveries.payload')}
      </Text>
      <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
        {JSON.stringify(d.payload, null, 2)}
      </Code>
    </Stack>
  );
}
