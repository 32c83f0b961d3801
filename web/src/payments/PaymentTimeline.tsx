import { Skeleton, Stack, Text, Timeline } from '@mantine/core';
import {
  IconAlertTriangle,
  IconArrowBackUp,
  IconBan,
  IconCheck,
  IconCircleDot,
  IconLoader,
  IconPlus,
  IconRefresh,
  IconX,
} from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { PaymentEvent, PaymentEventType } from '../api/types';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatDateTime } from './format';
import { failureLabel } from './lifecycle';

const LOOK: Record<PaymentEventType, { color: string; icon: ReactNode }> = {
  'payment.created': { color: 'gray', icon: <IconPlus size={12} aria-hidden /> },
  'payment.processing': { color: 'blue', icon: <IconLoader size={12} aria-hidden /> },
  'payment.attempt_failed': { color: 'orange', icon: <IconAlertTriangle size={12} aria-hidden /> },
  'payment.succeeded': { color: 'green', icon: <IconCheck size={12} aria-hidden /> },
  'payment.failed': { color: 'red', icon: <IconX size={12} aria-hidden /> },
  'payment.canceled': { color: 'gray', icon: <IconBan size={12} aria-hidden /> },
  'payment.retried': { color: 'blue', icon: <IconRefresh size={12} aria-hidden /> },
  'refund.created': { color: 'violet', icon: <IconArrowBackUp size={12} aria-hidden /> },
  'refund.succeeded': { color: 'green', icon: <IconArrowBackUp size={12} aria-hidden /> },
  'refund.failed': { color: 'red', icon: <IconArrowBackUp size={12} aria-hidden /> },
};

function isKnownType(type: string): type is PaymentEventType {
  return type in LOOK;
}

/** PaymentTimelineProps configures PaymentTimeline. */
export interface PaymentTimelineProps {
  events: PaymentEvent[] | undefined;
  /** currency formats refund amounts, which are minor units of the payment's currency. */
  currency: string;
  loading?: boolean;
  error?: unknown;
}

/** PaymentTimeline lists a payment's events, oldest first, as a Mantine Timeline. */
export function PaymentTimeline({ events, currency, loading, error }: PaymentTimelineProps) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  if (error) return <ProblemAlert error={error} title={t('timeline.loadError')} />;
  if (!events) {
    return loading ? (
      <Stack gap={6} aria-busy="true">
        <Skeleton height={32} />
        <Skeleton height={32} />
      </Stack>
    ) : null;
  }
  if (events.length === 0) return <Text c="dimmed">{t('timeline.empty')}</Text>;
  const sorted = [...events].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.id - b.id);
  return (
    <Timeline
      active={sorted.length - 1}
      bulletSize={22}
      lineWidth={2}
      role="list"
      aria-label={t('timeline.title')}
      data-testid="payment-timeline"
    >
      {sorted.map((e) => {
        const known = isKnownType(e.type);
        const look = known ? LOOK[e.type] : { color: 'gray', icon: <IconCircleDot size={12} aria-hidden /> };
        const details: string[] = [];
        if (e.data.attempt !== undefined) details.push(t('timeline.attempt', { attempt: e.data.attempt }));
        if (e.data.amount !== undefined) details.push(formatMoney(e.data.amount, currency, locale));
        if (e.data.code) details.push(failureLabel(e.data.code, t));
        return (
          <Timeline.Item
            key={e.id}
            bullet={look.icon}
            color={look.color}
            title={known ? t(`timeline.types.${e.type}`) : e.type}
            role="listitem"
            data-testid="timeline-event"
            data-event-type={e.type}
          >
            {details.length > 0 && <Text size="sm">{details.join(' · ')}</Text>}
            {e.data.message && (
              <Text size="sm" c="dimmed" style={{ wordBreak: 'break-word' }}>
                {e.data.message}
              </Text>
            )}
            {e.data.provider_reference && (
              <Text size="xs" c="dimmed" className="mono" style={{ wordBreak: 'break-all' }}>
                {t('timeline.providerReference', { reference: e.data.provider_reference })}
              </Text>
            )}
            <Text size="xs" c="dimmed" className="tabular">
              <time dateTime={e.created_at}>{formatDateTime(e.created_at, locale)}</time>
            </Text>
          </Timeline.Item>
        );
      })}
    </Timeline>
  );
}
