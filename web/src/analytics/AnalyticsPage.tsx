import { useId, useState, type ReactNode } from 'react';
import '@mantine/charts/styles.css';
import { BarChart } from '@mantine/charts';
import { Button, Group, Paper, SegmentedControl, SimpleGrid, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { IconChartBar, IconTable } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router';
import { useConsistencyToken } from '../api/consistency';
import { PAYMENT_STATUSES, type PaymentSummary } from '../api/types';
import { useApi } from '../auth/context';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { formatCount, formatDay } from '../payments/format';
import { failureLabel } from '../payments/lifecycle';
import { RANGES, rangeQuery, type Range } from './range';

/** ChartCard shows a chart with a toggle to the same numbers as an accessible table. */
function ChartCard({ title, chart, table, testId }: { title: string; chart: ReactNode; table: ReactNode; testId: string }) {
  const { t } = useTranslation();
  const [asTable, setAsTable] = useState(false);
  const id = useId();
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={`${id}-title`} data-testid={testId} miw={0}>
      <Group justify="space-between" gap="xs" mb="sm" wrap="nowrap">
        <Title order={2} size="h5" id={`${id}-title`}>
          {title}
        </Title>
        <Button
          size="compact-xs"
          variant="default"
          leftSection={asTable ? <IconChartBar size={14} aria-hidden /> : <IconTable size={14} aria-hidden />}
          onClick={() => setAsTable((v) => !v)}
          aria-pressed={asTable}
          aria-label={t('analytics.showTableOf', { chart: title })}
        >
          {t('analytics.showTable')}
        </Button>
      </Group>
      {asTable ? (
        <Table.ScrollContainer minWidth={0} type="native">
          {table}
        </Table.ScrollContainer>
      ) : (
        <div role="img" aria-label={t('analytics.chartLabel', { chart: title })}>
          {chart}
        </div>
      )}
    </Paper>
  );
}

function DataTable({ caption, head, rows }: { caption: string; head: string[]; rows: (string | number)[][] }) {
  return (
    <Table striped verticalSpacing={4} fz="sm" captionSide="top">
      <Table.Caption style={{ textAlign: 'left' }}>{caption}</Table.Caption>
      <Table.Thead>
        <Table.Tr>
          {head.map((h, i) => (
            <Table.Th key={h} ta={i === 0 ? undefined : 'right'}>
              {h}
            </Table.Th>
          ))}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {rows.map((r) => (
          <Table.Tr key={String(r[0])}>
            {r.map((c, i) => (
              <Table.Td key={i} ta={i === 0 ? undefined : 'right'} className={i === 0 ? undefined : 'tabular'}>
                {c}
              </Table.Td>
            ))}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

/** AnalyticsPage charts the summary of a period: counts and volume per day (per currency), statuses, failure codes, success rate. */
export function AnalyticsPage() {
  const { t } = useTranslation();
  const { locale } = useLocale();
  const api = useApi();
  const token = useConsistencyToken();
  const [params, setParams] = useSearchParams();
  const days = (RANGES as readonly number[]).includes(Number(params.get('days'))) ? (Number(params.get('days')) as Range) : 30;
  const query = rangeQuery(days).toString();
  const summary = useQuery({
    queryKey: ['summary', 'analytics', query, token],
    queryFn: ({ signal }) => {
      const q = new URLSearchParams(query);
      if (token) q.set('consistency_token', token);
      return api.paymentSummary(q, signal);
    },
    placeholderData: keepPreviousData,
  });

  return (
    <Stack gap="md">
      <Group justify="space-between" gap="xs" wrap="wrap">
        <Title order={1} size="h2">
          {t('analytics.title')}
        </Title>
        <SegmentedControl
          aria-label={t('analytics.range')}
          value={String(days)}
          onChange={(v) => setParams(v === '30' ? {} : { days: v })}
          data={RANGES.map((d) => ({ value: String(d), label: t('analytics.lastDays', { count: d }) }))}
        />
      </Group>
      {summary.error ? (
        <ProblemAlert error={summary.error} title={t('analytics.loadError')} />
      ) : !summary.data ? (
        <SimpleGrid cols={{ base: 1, md: 2 }} aria-busy="true">
          {Array.from({ length: 4 }, (_, i) => (
            <Skeleton key={i} height={260} radius="md" />
          ))}
        </SimpleGrid>
      ) : (
        <Charts summary={summary.data} locale={locale} />
      )}
    </Stack>
  );
}

function Charts({ summary, locale }: { summary: PaymentSummary; locale: string }) {
  const { t } = useTranslation();
  const days = summary.histogram.map((d) => ({ ...d, label: formatDay(d.date, locale) }));
  const currencies = Object.keys(summary.sum_by_currency).sort();
  const percent = new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: 1 });
  const count = (n: number) => formatCount(n, locale);
  const statuses = PAYMENT_STATUSES.map((s) => ({ status: t(`payments.status.${s}`), key: s, count: summary.count_by_status[s] }));
  const codes = Object.entries(summary.count_by_failure_code)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => ({ code: failureLabel(code, t), count: n }));
  const decided = summary.count_by_status.succeeded + summary.count_by_status.failed;

  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 2, sm: 3 }} spacing="sm">
        <Kpi label={t('analytics.count')} value={count(summary.count)} testId="kpi-count" />
        <Kpi
          label={t('analytics.successRate')}
          value={summary.success_rate === null ? '—' : percent.format(summary.success_rate)}
          hint={t('analytics.successRateHint', { decided: count(decided) })}
          testId="kpi-success-rate"
        />
        {currencies.map((c) => (
          <Kpi key={c} label={t('analytics.volumeIn', { currency: c })} value={formatMoney(summary.sum_by_currency[c] ?? 0, c, locale)} testId={`kpi-volume-${c}`} />
        ))}
      </SimpleGrid>

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <ChartCard
          testId="chart-count"
          title={t('analytics.countPerDay')}
          chart={
            <BarChart
              h={220}
              data={days}
              dataKey="label"
              series={[{ name: 'count', label: t('analytics.count'), color: 'indigo.6' }]}
              valueFormatter={count}
              tickLine="y"
              gridAxis="y"
              xAxisProps={{ minTickGap: 16 }}
              yAxisProps={{ allowDecimals: false, width: 48 }}
            />
          }
          table={
            <DataTable
              caption={t('analytics.countPerDay')}
              head={[t('analytics.day'), t('analytics.count')]}
              rows={days.map((d) => [d.label, count(d.count)])}
            />
          }
        />
        {currencies.map((c) => (
          <ChartCard
            key={c}
            testId={`chart-volume-${c}`}
            title={t('analytics.volumePerDay', { currency: c })}
            chart={
              <BarChart
                h={220}
                data={days.map((d) => ({ label: d.label, volume: d.sum_by_currency[c] ?? 0 }))}
                dataKey="label"
                series={[{ name: 'volume', label: c, color: 'teal.7' }]}
                valueFormatter={(v) => formatMoney(v, c, locale)}
                tickLine="y"
                gridAxis="y"
                xAxisProps={{ minTickGap: 16 }}
                yAxisProps={{ width: 80 }}
              />
            }
            table={
              <DataTable
                caption={t('analytics.volumePerDay', { currency: c })}
                head={[t('analytics.day'), t('analytics.volume')]}
                rows={days.map((d) => [d.label, formatMoney(d.sum_by_currency[c] ?? 0, c, locale)])}
              />
            }
          />
        ))}
        <ChartCard
          testId="chart-status"
          title={t('analytics.byStatus')}
          chart={
            <BarChart
              h={220}
              data={statuses}
              dataKey="status"
              orientation="vertical"
              series={[{ name: 'count', label: t('analytics.count'), color: 'indigo.6' }]}
              valueFormatter={count}
              gridAxis="x"
              yAxisProps={{ width: 96 }}
            />
          }
          table={
            <DataTable caption={t('analytics.byStatus')} head={[t('analytics.status'), t('analytics.count')]} rows={statuses.map((s) => [s.status, count(s.count)])} />
          }
        />
        <ChartCard
          testId="chart-failures"
          title={t('analytics.byFailureCode')}
          chart={
            codes.length === 0 ? (
              <Text c="dimmed" py="xl" ta="center">
                {t('analytics.noFailures')}
              </Text>
            ) : (
              <BarChart
                h={220}
                data={codes}
                dataKey="code"
                orientation="vertical"
                series={[{ name: 'count', label: t('analytics.count'), color: 'red.7' }]}
                valueFormatter={count}
                gridAxis="x"
                yAxisProps={{ width: 120 }}
              />
            )
          }
          table={
            <DataTable caption={t('analytics.byFailureCode')} head={[t('analytics.failureCode'), t('analytics.count')]} rows={codes.map((c) => [c.code, count(c.count)])} />
          }
        />
      </SimpleGrid>
    </Stack>
  );
}

function Kpi({ label, value, hint, testId }: { label: string; value: string; hint?: string; testId: string }) {
  return (
    <Paper withBorder p="sm" radius="md" miw={0}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={600}>
        {label}
      </Text>
      <Text size="xl" fw={700} className="tabular" data-testid={testId} style={{ overflowWrap: 'anywhere' }}>
        {value}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
    </Paper>
  );
}
