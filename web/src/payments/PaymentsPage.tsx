import { useState } from 'react';
import {
  Alert,
  Badge,
  Button,
  Drawer,
  Group,
  NativeSelect,
  Paper,
  Skeleton,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useDisclosure, useLocalStorage, useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconAdjustmentsHorizontal, IconDownload, IconPlus, IconRefresh } from '@tabler/icons-react';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { setConsistencyToken, useConsistencyToken } from '../api/consistency';
import { ApiError } from '../api/problem';
import type { CreatedPayment, Payment } from '../api/types';
import { useApi, useSession } from '../auth/context';
import { describeError } from '../components/describeError';
import { ProblemAlert } from '../components/ProblemAlert';
import { useLocale } from '../i18n';
import { formatMoney } from '../money/money';
import { CreatePaymentModal } from './CreatePaymentModal';
import { saveBlob } from './download';
import { ColumnChooser } from './ColumnChooser';
import { csvColumns, useTableSettings } from './columns';
import { activeFilterCount, amountSortable, apiQuery, filtersToSearch, SORT_KEYS, type SortKey } from './filters';
import { FiltersForm } from './FiltersForm';
import { PaginationBar } from './PaginationBar';
import { PaymentCards } from './PaymentCards';
import { PaymentDrawer } from './PaymentDrawer';
import { PaymentsTable } from './PaymentsTable';
import { SummaryStrip } from './SummaryStrip';
import { usePaymentsView } from './usePaymentsView';

function viewerTimeZone(): string | undefined {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** PaymentsPage is the main screen: filters, summary, the payments list with paging, export and create. */
export function PaymentsPage() {
  const { t } = useTranslation();
  const { locale, language } = useLocale();
  const api = useApi();
  const queryClient = useQueryClient();
  const view = usePaymentsView();
  const { filters } = view;
  const isPhone = useMediaQuery('(max-width: 48em)', false, { getInitialValueInEffect: false });
  const [filtersOpen, filtersDrawer] = useDisclosure(false);
  // On wide screens the filter panel shows by default; analysts can fold it away (remembered).
  const [panelOpen, setPanelOpen] = useLocalStorage({ key: 'wildcat.filtersPanel', defaultValue: true });
  const [createOpen, createModal] = useDisclosure(false);
  const { paymentId = null } = useParams();
  // The row that was clicked, shown at once while the detail page reads the payment afresh.
  const [openedRow, setOpenedRow] = useState<Payment | null>(null);
  const [highlightId, setHighlightId] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const consistencyToken = useConsistencyToken();
  const session = useSession();
  const [table, setTable] = useTableSettings(session.user.id);
  const canSortAmount = amountSortable(filters);

  const withToken = (q: URLSearchParams) => {
    if (consistencyToken) q.set('consistency_token', consistencyToken);
    return q;
  };
  const searchQuery = apiQuery(filters, 'search').toString();
  const summaryQuery = apiQuery(filters, 'summary', viewerTimeZone()).toString();

  const customers = useQuery({
    queryKey: ['customers', consistencyToken],
    queryFn: ({ signal }) => api.listCustomers(consistencyToken, signal),
    placeholderData: keepPreviousData,
  });
  // The page's position travels with its data, so while the next page loads the range shown
  // still describes the rows on screen.
  const pageIndex = view.pageIndex;
  const payments = useQuery({
    queryKey: ['payments', searchQuery, consistencyToken],
    queryFn: async ({ signal }) => ({
      ...(await api.searchPayments(withToken(new URLSearchParams(searchQuery)), signal)),
      pageIndex,
      limit: filters.limit,
    }),
    placeholderData: keepPreviousData,
  });
  const summary = useQuery({
    queryKey: ['summary', summaryQuery, consistencyToken],
    queryFn: ({ signal }) => api.paymentSummary(withToken(new URLSearchParams(summaryQuery)), signal),
    placeholderData: keepPreviousData,
  });

  const customerList = customers.data ?? [];
  const activeCount = activeFilterCount(filters);
  const rows = payments.data?.data ?? [];
  const formKey = `${filtersToSearch({ ...filters, cursor: null }).toString()}|${language}`;

  const onSort = (sort: SortKey) => view.apply({ ...filters, sort });
  const onOpen = (p: Payment) => {
    setOpenedRow(p);
    view.openPayment(p.id);
  };

  const onExport = async () => {
    setExporting(true);
    try {
      // The CSV has the table's columns, with times in the viewer's zone, as the table shows them.
      const q = apiQuery(filters, 'export', viewerTimeZone());
      q.set('columns', csvColumns(table.columns));
      const { blob, filename } = await api.exportCsv(withToken(q));
      saveBlob(blob, filename);
      notifications.show({ color: 'green', message: t('payments.exported', { filename }) });
    } catch (err) {
      const d = describeError(err, t);
      notifications.show({ color: 'red', title: t('payments.exportFailed'), message: d.message || d.title });
    } finally {
      setExporting(false);
    }
  };

  const onCreated = (p: CreatedPayment, token: string | null) => {
    createModal.close();
    setConsistencyToken(token);
    setHighlightId(p.id);
    notifications.show({
      color: 'green',
      message: t('createPayment.created', { amount: formatMoney(p.amount, p.currency, locale), thirdParty: p.third_party }),
    });
    // Show the newest rows again; the consistency token makes the new payment part of them.
    if (filters.cursor) view.firstPage();
    void queryClient.invalidateQueries({ queryKey: ['payments'] });
    void queryClient.invalidateQueries({ queryKey: ['summary'] });
  };

  const filtersForm = (prefix: string) => (
    <FiltersForm
      key={`${prefix}|${formKey}`}
      idPrefix={prefix}
      stickyActions={prefix === 'phone'}
      value={filters}
      customers={customerList}
      customersLoading={customers.isPending}
      failureCodes={Object.keys(summary.data?.count_by_failure_code ?? {})}
      onApply={(f) => {
        view.apply(f);
        filtersDrawer.close();
      }}
    />
  );

  const defaultCustomer = filters.customerIds.length === 1 ? filters.customerIds[0] : null;

  return (
    <Stack gap="md">
      <Group justify="space-between" gap="xs" wrap="wrap">
        <Title order={1} size="h2">
          {t('payments.title')}
        </Title>
        <Group gap="xs">
          <Button
            variant="default"
            leftSection={<IconAdjustmentsHorizontal size={16} aria-hidden />}
            onClick={isPhone ? filtersDrawer.open : () => setPanelOpen((o) => !o)}
            rightSection={activeCount > 0 ? <Badge size="sm" circle>{activeCount}</Badge> : undefined}
            {...(isPhone ? {} : { 'aria-expanded': panelOpen, 'aria-controls': 'filters-panel' })}
          >
            {t('payments.filters')}
          </Button>
          <ColumnChooser value={table} onChange={setTable} />
          <Button
            variant="default"
            leftSection={<IconDownload size={16} aria-hidden />}
            onClick={() => void onExport()}
            loading={exporting}
          >
            {t('payments.export')}
          </Button>
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={createModal.open}>
            {t('payments.newPayment')}
          </Button>
        </Group>
      </Group>

      {!isPhone && panelOpen && (
        <Paper withBorder p="md" radius="md" component="section" aria-label={t('filters.title')} id="filters-panel">
          {filtersForm('desktop')}
        </Paper>
      )}
      <Drawer opened={isPhone && filtersOpen} onClose={filtersDrawer.close} title={t('filters.title')} position="bottom" size="92%" closeButtonProps={{ 'aria-label': t('filters.close') }}>
        {isPhone && filtersForm('phone')}
      </Drawer>

      {summary.error ? null : <SummaryStrip summary={summary.data} loading={summary.isPending} />}

      <Group justify="space-between" gap="xs" wrap="wrap">
        <Group gap="xs" wrap="wrap">
          <NativeSelect
            label={t('payments.sort.label')}
            size="xs"
            value={filters.sort}
            onChange={(e) => onSort(e.currentTarget.value as SortKey)}
            data={SORT_KEYS.filter((k) => canSortAmount || !k.endsWith('amount')).map((k) => ({ value: k, label: t(`payments.sort.${k}`) }))}
            styles={{ root: { display: 'flex', alignItems: 'center', gap: 8 }, label: { whiteSpace: 'nowrap' } }}
          />
          {!canSortAmount && (
            <Text size="xs" c="dimmed" data-testid="amount-sort-hint">
              {t('payments.table.amountSortHint')}
            </Text>
          )}
        </Group>
        <Button
          variant="subtle"
          size="xs"
          leftSection={<IconRefresh size={14} aria-hidden />}
          onClick={() => {
            void payments.refetch();
            void summary.refetch();
            void customers.refetch();
          }}
          loading={payments.isFetching}
        >
          {t('payments.refresh')}
        </Button>
      </Group>

      {highlightId && rows.some((r) => r.id === highlightId) && (
        <Alert color="green" variant="light" role="status" withCloseButton onClose={() => setHighlightId(null)} closeButtonLabel={t('app.close')}>
          {t('payments.newRowVisible')}
        </Alert>
      )}

      {payments.error ? (
        <Stack gap="xs">
          <ProblemAlert error={payments.error} title={t('payments.loadError')} />
          <Group>
            {filters.cursor && payments.error instanceof ApiError && 'cursor' in payments.error.fieldErrors() ? (
              // A cursor from an old link or an API restart cannot be retried; start over.
              <Button variant="default" onClick={view.firstPage}>
                {t('payments.pagination.first')}
              </Button>
            ) : (
              <Button variant="default" onClick={() => void payments.refetch()}>
                {t('payments.retry')}
              </Button>
            )}
          </Group>
        </Stack>
      ) : payments.isPending ? (
        <Stack gap={6} aria-busy="true" aria-label={t('payments.title')}>
          {Array.from({ length: 6 }, (_, i) => (
            <Skeleton key={i} height={isPhone ? 84 : 40} radius="sm" />
          ))}
        </Stack>
      ) : rows.length === 0 ? (
        <Paper withBorder p="xl" radius="md" ta="center">
          {customers.isSuccess && customerList.length === 0 ? (
            <Stack align="center" gap="sm">
              <Text>{t('payments.emptyNoCustomers')}</Text>
              <Button component={Link} to="/customers">
                {t('payments.goCustomers')}
              </Button>
            </Stack>
          ) : (
            <Stack align="center" gap="sm">
              <Text>{t('payments.empty')}</Text>
              {activeCount > 0 && (
                <Button variant="default" onClick={view.reset}>
                  {t('payments.emptyClear')}
                </Button>
              )}
            </Stack>
          )}
        </Paper>
      ) : isPhone ? (
        <PaymentCards payments={rows} onOpen={onOpen} highlightId={highlightId} busy={payments.isFetching} />
      ) : (
        <PaymentsTable
          payments={rows}
          onOpen={onOpen}
          highlightId={highlightId}
          busy={payments.isFetching}
          sort={filters.sort}
          onSort={onSort}
          columns={table.columns}
          density={table.density}
          amountSortable={canSortAmount}
        />
      )}

      {(rows.length > 0 || filters.cursor) && (
        <PaginationBar
          pageIndex={payments.data ? payments.data.pageIndex : view.pageIndex}
          pageSize={filters.limit}
          dataPageSize={payments.data?.limit ?? filters.limit}
          shown={rows.length}
          total={payments.data?.total}
          totalIsLowerBound={payments.data?.total_relation === 'gte'}
          hasMore={Boolean(payments.data?.has_more && payments.data.next_cursor)}
          canGoBack={view.canGoBack}
          disabled={payments.isFetching}
          onFirst={view.firstPage}
          onPrevious={view.previousPage}
          onNext={() => {
            if (payments.data?.next_cursor) view.nextPage(payments.data.next_cursor);
          }}
          onPageSize={(limit) => view.apply({ ...filters, limit })}
        />
      )}

      {createOpen && (
        <CreatePaymentModal
          opened={createOpen}
          onClose={createModal.close}
          customers={customerList}
          defaultCustomerId={defaultCustomer ?? null}
          onCreated={onCreated}
        />
      )}
      <PaymentDrawer
        paymentId={paymentId}
        row={(openedRow?.id === paymentId ? openedRow : undefined) ?? rows.find((r) => r.id === paymentId)}
        onClose={view.closePayment}
      />
    </Stack>
  );
}
