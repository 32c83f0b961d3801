import { useMemo, useState, type SyntheticEvent } from 'react';
import { Button, Checkbox, Group, Menu, MultiSelect, NativeSelect, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { DateInput } from '@mantine/dates';
import { IconCalendarEvent, IconChevronDown, IconFilter, IconSearch } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { PAYMENT_STATUSES, type CustomerWithUsers, type PaymentStatus } from '../api/types';
import { useLocale } from '../i18n';
import { allCurrencies, currencyName, formatMajorInput, minorDigits, parseAmount } from '../money/money';
import { EMPTY_FILTERS, isUuid, type PaymentFilters, type RefundedFilter } from './filters';
import { FAILURE_CODES, failureLabel } from './lifecycle';
import { isoDay, parseDayInput } from './format';

/** FiltersFormProps configures FiltersForm. */
export interface FiltersFormProps {
  value: PaymentFilters;
  customers: CustomerWithUsers[];
  customersLoading?: boolean;
  onApply: (f: PaymentFilters) => void;
  /** idPrefix keeps ids unique when the form is rendered twice (panel and drawer). */
  idPrefix: string;
  /** stickyActions keeps Apply/Reset in view at the bottom of a scrolling drawer. */
  stickyActions?: boolean;
  /** failureCodes are codes seen in the data (the summary's count_by_failure_code), offered besides the known ones. */
  failureCodes?: string[];
}

interface Draft {
  from: string | null;
  to: string | null;
  customerIds: string[];
  userIds: string[];
  paymentRefId: string;
  statuses: PaymentStatus[];
  failureCodes: string[];
  refunded: RefundedFilter;
  currencies: string[];
  amountMin: string;
  amountMax: string;
  q: string;
}

// Amount bounds are typed in major units; with exactly one currency selected we know its
// minor digits, otherwise two decimals are assumed (the common case) and said so.
function boundCurrency(currencies: string[]): string | null {
  return currencies.length === 1 ? (currencies[0] ?? null) : null;
}

function toDraft(f: PaymentFilters, locale: string): Draft {
  const cur = boundCurrency(f.currencies);
  return {
    from: f.from?.slice(0, 10) ?? null,
    to: f.to?.slice(0, 10) ?? null,
    customerIds: f.customerIds,
    userIds: f.userIds,
    paymentRefId: f.paymentRefId,
    statuses: f.statuses,
    failureCodes: f.failureCodes,
    refunded: f.refunded,
    currencies: f.currencies,
    amountMin: f.amountMin ? formatMajorInput(BigInt(f.amountMin), cur, locale) : '',
    amountMax: f.amountMax ? formatMajorInput(BigInt(f.amountMax), cur, locale) : '',
    q: f.q,
  };
}

type AmountResult = { ok: true; minor: string } | { ok: false; message: string };

function parseBound(input: string, currency: string | null, t: ReturnType<typeof useTranslation>['t']): AmountResult {
  if (!input.trim()) return { ok: true, minor: '' };
  const code = currency ?? 'EUR';
  const r = parseAmount(input, code);
  if (r.ok) return { ok: true, minor: String(r.minor) };
  if (r.error === 'not_positive' && /^[\s0.,]+$/.test(input)) return { ok: true, minor: '0' };
  const digits = minorDigits(code);
  if (r.error === 'precision') {
    return {
      ok: false,
      message: digits === 0 ? t('amount.precisionNone', { currency: code }) : t('amount.precision', { currency: code, digits }),
    };
  }
  return { ok: false, message: t(`amount.${r.error}`) };
}

function presetRange(kind: 'today' | 'last7' | 'last30' | 'thisMonth' | 'lastMonth' | 'thisYear'): [string, string] {
  const now = new Date();
  const y = now.getFullYear();
  const m = now.getMonth();
  const d = now.getDate();
  switch (kind) {
    case 'today':
      return [isoDay(now), isoDay(now)];
    case 'last7':
      return [isoDay(new Date(y, m, d - 6)), isoDay(now)];
    case 'last30':
      return [isoDay(new Date(y, m, d - 29)), isoDay(now)];
    case 'thisMonth':
      return [isoDay(new Date(y, m, 1)), isoDay(new Date(y, m + 1, 0))];
    case 'lastMonth':
      return [isoDay(new Date(y, m - 1, 1)), isoDay(new Date(y, m, 0))];
    case 'thisYear':
      return [isoDay(new Date(y, 0, 1)), isoDay(new Date(y, 11, 31))];
  }
}

const PRESETS = ['today', 'last7', 'last30', 'thisMonth', 'lastMonth', 'thisYear'] as const;

/** FiltersForm edits every filter of SPEC §5; changes apply on submit so a half-typed filter never fires a search. */
export function FiltersForm({ value, customers, customersLoading, onApply, idPrefix, stickyActions, failureCodes = [] }: FiltersFormProps) {
  const { t } = useTranslation();
  const { locale, language } = useLocale();
  const [draft, setDraft] = useState<Draft>(() => toDraft(value, locale));
  const [errors, setErrors] = useState<Partial<Record<keyof Draft, string>>>({});
  const set = <K extends keyof Draft>(k: K, v: Draft[K]) => {
    setDraft((d) => ({ ...d, [k]: v }));
    setErrors((e) => ({ ...e, [k]: undefined }));
  };

  const customerOptions = useMemo(() => customers.map((c) => ({ value: c.id, label: c.name })), [customers]);
  const userOptions = useMemo(() => {
    const pool = draft.customerIds.length ? customers.filter((c) => draft.customerIds.includes(c.id)) : customers;
    const seen = new Map<string, { value: string; label: string }>();
    for (const c of pool) for (const u of c.users) seen.set(u.id, { value: u.id, label: `${u.name} (${u.email})` });
    // Keep already selected users listed even if the customer filter no longer includes them.
    for (const id of draft.userIds) {
      if (!seen.has(id)) {
        const u = customers.flatMap((c) => c.users).find((x) => x.id === id);
        seen.set(id, { value: id, label: u ? `${u.name} (${u.email})` : id });
      }
    }
    return [...seen.values()].sort((a, b) => a.label.localeCompare(b.label, locale));
  }, [customers, draft.customerIds, draft.userIds, locale]);
  const currencyOptions = useMemo(
    () => allCurrencies().map((c) => ({ value: c, label: `${c} – ${currencyName(c, locale)}` })),
    [locale],
  );
  const failureOptions = useMemo(
    () =>
      [...new Set([...FAILURE_CODES, ...failureCodes, ...draft.failureCodes])].map((c) => ({ value: c, label: failureLabel(c, t) })),
    [failureCodes, draft.failureCodes, t],
  );
  const cur = boundCurrency(draft.currencies);
  const dateFormat = language === 'da' ? 'DD.MM.YYYY' : 'DD/MM/YYYY';

  const submit = (e: SyntheticEvent) => {
    e.preventDefault();
    const errs: Partial<Record<keyof Draft, string>> = {};
    const ref = draft.paymentRefId.trim();
    if (ref && !isUuid(ref)) errs.paymentRefId = t('filters.errors.uuid');
    if (draft.from && draft.to && draft.from > draft.to) errs.to = t('filters.errors.range');
    const min = parseBound(draft.amountMin, cur, t);
    const max = parseBound(draft.amountMax, cur, t);
    if (!min.ok) errs.amountMin = min.message;
    if (!max.ok) errs.amountMax = max.message;
    if (min.ok && max.ok && min.minor && max.minor && BigInt(min.minor) > BigInt(max.minor)) {
      errs.amountMax = t('filters.errors.amountRange');
    }
    setErrors(errs);
    if (Object.keys(errs).length > 0 || !min.ok || !max.ok) return;
    onApply({
      ...value,
      from: draft.from,
      to: draft.to,
      customerIds: draft.customerIds,
      userIds: draft.userIds,
      paymentRefId: ref,
      statuses: draft.statuses,
      failureCodes: draft.failureCodes,
      refunded: draft.refunded,
      currencies: draft.currencies,
      amountMin: min.minor,
      amountMax: max.minor,
      q: draft.q.trim(),
      cursor: null,
    });
  };

  const reset = () => {
    setDraft(toDraft({ ...EMPTY_FILTERS, sort: value.sort, limit: value.limit }, locale));
    setErrors({});
    onApply({ ...EMPTY_FILTERS, sort: value.sort, limit: value.limit });
  };

  // With one currency picked the bounds are exact in its units; otherwise two decimals are assumed.
  const amountHint = cur ? t('filters.amountHintOne', { currency: cur }) : undefined;
  const amountPlaceholder = cur ? formatMajorInput(0n, cur, locale) : formatMajorInput(0n, 'EUR', locale);

  return (
    <form onSubmit={submit} aria-label={t('filters.title')} noValidate>
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, xs: 2, md: 3, lg: 4 }} spacing="sm" verticalSpacing="xs">
          <TextInput
            id={`${idPrefix}-q`}
            label={t('filters.search')}
            placeholder={t('filters.searchPlaceholder')}
            leftSection={<IconSearch size={16} aria-hidden />}
            type="search"
            value={draft.q}
            onChange={(e) => set('q', e.currentTarget.value)}
          />
          <DateInput
            id={`${idPrefix}-from`}
            label={t('filters.from')}
            placeholder={t('filters.datePlaceholder')}
            valueFormat={dateFormat}
            dateParser={parseDayInput}
            value={draft.from}
            onChange={(v) => set('from', v)}
            clearable
            leftSection={<IconCalendarEvent size={16} aria-hidden />}
            error={errors.from}
          />
          <DateInput
            id={`${idPrefix}-to`}
            label={t('filters.to')}
            placeholder={t('filters.datePlaceholder')}
            valueFormat={dateFormat}
            dateParser={parseDayInput}
            value={draft.to}
            onChange={(v) => set('to', v)}
            clearable
            leftSection={<IconCalendarEvent size={16} aria-hidden />}
            error={errors.to}
            {...(draft.from ? { minDate: draft.from } : {})}
          />
          <MultiSelect
            id={`${idPrefix}-customers`}
            label={t('filters.customers')}
            data={customerOptions}
            value={draft.customerIds}
            onChange={(v) => set('customerIds', v)}
            searchable
            clearable
            nothingFoundMessage={t('filters.nothingFound')}
            disabled={customersLoading && customers.length === 0}
            hidePickedOptions
          />
          <MultiSelect
            id={`${idPrefix}-users`}
            label={t('filters.executedBy')}
            data={userOptions}
            value={draft.userIds}
            onChange={(v) => set('userIds', v)}
            searchable
            clearable
            nothingFoundMessage={t('filters.nothingFound')}
            hidePickedOptions
          />
          <MultiSelect
            id={`${idPrefix}-currency`}
            label={t('filters.currency')}
            data={currencyOptions}
            value={draft.currencies}
            onChange={(v) => set('currencies', v)}
            searchable
            clearable
            limit={60}
            nothingFoundMessage={t('filters.nothingFound')}
            hidePickedOptions
          />
          <TextInput
            id={`${idPrefix}-amount-min`}
            label={t('filters.amountMin')}
            description={amountHint}
            placeholder={amountPlaceholder}
            title={cur ? undefined : t('filters.amountHintMany')}
            inputMode="decimal"
            autoComplete="off"
            value={draft.amountMin}
            onChange={(e) => set('amountMin', e.currentTarget.value)}
            error={errors.amountMin}
          />
          <TextInput
            id={`${idPrefix}-amount-max`}
            label={t('filters.amountMax')}
            description={amountHint}
            placeholder={amountPlaceholder}
            title={cur ? undefined : t('filters.amountHintMany')}
            inputMode="decimal"
            autoComplete="off"
            value={draft.amountMax}
            onChange={(e) => set('amountMax', e.currentTarget.value)}
            error={errors.amountMax}
          />
          <TextInput
            id={`${idPrefix}-ref`}
            label={t('filters.reference')}
            placeholder={t('filters.referencePlaceholder')}
            autoComplete="off"
            spellCheck={false}
            value={draft.paymentRefId}
            onChange={(e) => set('paymentRefId', e.currentTarget.value)}
            error={errors.paymentRefId}
          />
          <Checkbox.Group
            id={`${idPrefix}-status`}
            label={t('filters.status')}
            value={draft.statuses}
            onChange={(v) => set('statuses', v.filter((s): s is PaymentStatus => (PAYMENT_STATUSES as readonly string[]).includes(s)))}
          >
            <Group gap="md" mt={8}>
              {PAYMENT_STATUSES.map((s) => (
                <Checkbox key={s} value={s} label={t(`payments.status.${s}`)} />
              ))}
            </Group>
          </Checkbox.Group>
          <MultiSelect
            id={`${idPrefix}-failure-code`}
            label={t('filters.failureCode')}
            data={failureOptions}
            value={draft.failureCodes}
            onChange={(v) => set('failureCodes', v)}
            searchable
            clearable
            nothingFoundMessage={t('filters.nothingFound')}
            hidePickedOptions
          />
          <NativeSelect
            id={`${idPrefix}-refunded`}
            label={t('filters.refunded')}
            value={draft.refunded ?? ''}
            onChange={(e) => {
              const v = e.currentTarget.value;
              set('refunded', v === 'true' || v === 'false' ? v : null);
            }}
            data={[
              { value: '', label: t('filters.refundedAny') },
              { value: 'true', label: t('filters.refundedTrue') },
              { value: 'false', label: t('filters.refundedFalse') },
            ]}
          />
        </SimpleGrid>
        <Group
          justify="space-between"
          gap="xs"
          style={
            stickyActions
              ? { position: 'sticky', bottom: 0, background: 'var(--mantine-color-body)', paddingBlock: 8, zIndex: 1 }
              : undefined
          }
        >
          <Menu position="bottom-start">
            <Menu.Target>
              <Button variant="subtle" size="sm" rightSection={<IconChevronDown size={14} aria-hidden />}>
                {t('filters.presets.label')}
              </Button>
            </Menu.Target>
            <Menu.Dropdown>
              {PRESETS.map((p) => (
                <Menu.Item
                  key={p}
                  onClick={() => {
                    const [from, to] = presetRange(p);
                    setDraft((d) => ({ ...d, from, to }));
                    setErrors((e) => ({ ...e, from: undefined, to: undefined }));
                  }}
                >
                  {t(`filters.presets.${p}`)}
                </Menu.Item>
              ))}
            </Menu.Dropdown>
          </Menu>
          <Group gap="xs">
            <Button variant="default" onClick={reset}>
              {t('filters.reset')}
            </Button>
            <Button type="submit" leftSection={<IconFilter size={16} aria-hidden />}>
              {t('filters.apply')}
            </Button>
          </Group>
        </Group>
      </Stack>
    </form>
  );
}
