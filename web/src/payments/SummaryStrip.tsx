import { Group, Paper, Skeleton, Stack, Text } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { PAYMENT_STATUSES, type PaymentSummary } from '../api/types';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatCount, formatDay } from './format';
import { StatusBadge } from './StatusBadge';

// SUMMARY_HEIGHT is the strip's height on a wide screen with one line of totals.
const SUMMARY_HEIGHT = 98;

/** SummaryStrip shows count, totals per currency, counts per status and a per-day bar chart for the current filter. */
export function SummaryStrip({ summary, loading }: { summary: PaymentSummary | undefined; loading: boolean }) {
  const { t } = useTranslation();
  const { locale } = useLocale();
  if (!summary) {
    // The same height as the strip, so the list below does not move when the summary arrives
    // (over a million payments it comes after the first page: Lighthouse counted the shift).
    return loading ? <Skeleton height={SUMMARY_HEIGHT} radius="md" /> : null;
  }
  const totals = Object.entries(summary.sum_by_currency).sort(([a], [b]) => a.localeCompare(b));
  const histogram = summary.histogram;
  const max = Math.max(1, ...histogram.map((b) => b.count));
  return (
    <Paper withBorder p="sm" radius="md" component="section" aria-label={t('payments.summary.label')} mih={SUMMARY_HEIGHT}>
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
              {/* A plain title per bar: the histogram lists zero days too, so a long period has hundreds of
                  bars, and a Tooltip component each made the payments page slow to become interactive. */}
              {histogram.map((b) => (
                <span
                  key={b.date}
                  title={`${formatDay(b.date, locale)}: ${formatCount(b.count, locale)}`}
                  style={{ height: b.count === 0 ? 0 : `${Math.max(4, (b.count / max) * 100)}%` }}
                />
              ))}
            </div>
          </Stack>
        )}
      </Group>
    </Paper>
  );
}
