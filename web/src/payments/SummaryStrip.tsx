import { Group, Paper, Skeleton, Stack, Text, Tooltip } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { PAYMENT_STATUSES, type PaymentSummary } from '../api/types';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatCount, formatDay } from './format';
import { StatusBadge } from './StatusBadge';

/** SummaryStrip shows count, totals per currency, counts per status and a per-day bar chart for the current filter. */
export function SummaryStrip({ summary, loading }: { summary: PaymentSummary | undefined; loading: boolean }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  if (!summary) {
    return loading ? <Skeleton height={72} radius="md" /> : null;
  }
  const totals = Object.entries(summary.sum_by_currency).sort(([a], [b]) => a.localeCompare(b));
  const histogram = summary.histogram;
  const max = Math.max(1, ...histogram.map((b) => b.count));
  return (
    <Paper withBorder p="sm" radius="md" component="section" aria-label={t('payments.summary.label')}>
      <Group align="flex-start" gap="xl" wrap="wrap">
        <Stack gap={2}>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            {t('payments.summary.count')}
          </Text>
          <Text size="xl" fw={700} className="tabular" data-testid="summary-count">
            {formatCount(summary.count, locale)}
          </Text>
        </Stack>
        <Stack gap={2}>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            {t('payments.summary.totals')}
          </Text>
          {totals.length === 0 ? (
            <Text>{t('payments.summary.noTotals')}</Text>
          ) : (
            <Group gap="md" data-testid="summary-totals">
              {totals.map(([cur, sum]) => (
                <Text key={cur} fw={600} className="tabular">
                  {formatMoney(sum, cur, locale)}
                </Text>
              ))}
            </Group>
          )}
        </Stack>
        <Stack gap={4}>
          <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
            {t('payments.summary.byStatus')}
          </Text>
          <Group gap={6}>
            {PAYMENT_STATUSES.filter((s) => summary.count_by_status[s]).map((s) => (
              <Group key={s} gap={4} wrap="nowrap">
                <StatusBadge status={s} />
                <Text size="sm" className="tabular">
                  {formatCount(summary.count_by_status[s], locale)}
                </Text>
              </Group>
            ))}
          </Group>
        </Stack>
        {summary.success_rate !== null && (
          <Stack gap={2}>
            <Text size="xs" c="dimmed" tt="uppercase" fw={600} title={t('payments.summary.successRateHint')}>
              {t('payments.summary.successRate')}
            </Text>
            <Text size="xl" fw={700} className="tabular" data-testid="summary-success-rate">
              {new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 }).format(summary.success_rate)}
            </Text>
          </Stack>
        )}
        {histogram.length > 1 && (
          <Stack gap={4} style={{ flex: '1 1 160px', minWidth: 160 }}>
            <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
              {t('payments.summary.perDay')}
            </Text>
            <div className="histogram" role="img" aria-label={t('payments.summary.perDay')}>
              {histogram.map((b) => (
                <Tooltip key={b.date} label={`${formatDay(b.date, locale)}: ${formatCount(b.count, locale)}`} withinPortal>
                  <span style={{ height: `${Math.max(4, (b.count / max) * 100)}%` }} />
                </Tooltip>
              ))}
            </div>
          </Stack>
        )}
      </Group>
    </Paper>
  );
}
