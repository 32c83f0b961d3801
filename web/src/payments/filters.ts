import { PAYMENT_STATUSES, type PaymentQueryParam, type PaymentSort, type PaymentStatus } from '../api/types';

/** SortKey is a sort order the query API accepts. */
export type SortKey = PaymentSort;

/** SORT_KEYS lists every sort order. */
export const SORT_KEYS: readonly SortKey[] = ['-date', 'date', '-amount', 'amount'];

/** PAGE_SIZES are the page sizes offered in the UI (the API allows 1-500). */
export const PAGE_SIZES = [5, 10, 25, 50, 100, 250, 500] as const;

/** DEFAULT_LIMIT is the page size when the URL names none. */
export const DEFAULT_LIMIT = 25;

/**
 * PaymentFilters is the state of the payments view. It lives in the URL with the query API's own
 * parameter names, so a view can be bookmarked or shared. `from` and `to` hold either a calendar
 * day (YYYY-MM-DD, both ends inclusive, in the viewer's time zone) or an RFC 3339 instant that is
 * passed through unchanged (`to` then exclusive, as the API defines it).
 */
export interface PaymentFilters {
  from: string | null;
  to: string | null;
  customerIds: string[];
  userIds: string[];
  paymentRefId: string;
  statuses: PaymentStatus[];
  /** failureCodes are provider decline codes or retries_exhausted (`failure_code`). */
  failureCodes: string[];
  /** refunded is 'true' (partly or fully refunded), 'false' (not at all) or null (either). */
  refunded: RefundedFilter;
  currencies: string[];
  /** amountMin and amountMax are integer minor units as decimal strings; '' means no bound. */
  amountMin: string;
  amountMax: string;
  q: string;
  sort: SortKey;
  limit: number;
  cursor: string | null;
}

/** RefundedFilter is the `refunded` parameter: 'true', 'false' or absent. */
export type RefundedFilter = 'true' | 'false' | null;

/** EMPTY_FILTERS is the unfiltered first page. */
export const EMPTY_FILTERS: PaymentFilters = {
  from: null,
  to: null,
  customerIds: [],
  userIds: [],
  paymentRefId: '',
  statuses: [],
  failureCodes: [],
  refunded: null,
  currencies: [],
  amountMin: '',
  amountMax: '',
  q: '',
  sort: '-date',
  limit: DEFAULT_LIMIT,
  cursor: null,
};

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER = /^\d{1,16}$/;
const FAILURE_CODE = /^[a-z0-9_]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** isUuid reports whether s is a UUID in canonical textual form. */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/** amountSortable reports whether amounts can be ordered: only within one currency (the API refuses otherwise). */
export function amountSortable(f: Pick<PaymentFilters, 'currencies'>): boolean {
  return f.currencies.length === 1;
}

/** effectiveSort is the view's sort, newest first when an amount order is not possible. */
export function effectiveSort(f: Pick<PaymentFilters, 'currencies' | 'sort'>): SortKey {
  return (f.sort === 'amount' || f.sort === '-amount') && !amountSortable(f) ? '-date' : f.sort;
}

function dateParam(v: string | null): string | null {
  if (!v) return null;
  return DAY.test(v) || INSTANT.test(v) ? v : null;
}

function refundedParam(v: string | null): RefundedFilter {
  return v === 'true' || v === 'false' ? v : null;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

/** filtersFromSearch reads the view state from URL search params, dropping what is malformed. */
export function filtersFromSearch(sp: URLSearchParams): PaymentFilters {
  const sort = sp.get('sort') as SortKey | null;
  const limit = Number(sp.get('limit'));
  const amountMin = sp.get('amount_min') ?? '';
  const amountMax = sp.get('amount_max') ?? '';
  const currencies = unique(sp.getAll('currency').map((c) => c.toUpperCase()).filter((c) => /^[A-Z]{3}$/.test(c)));
  return {
    from: dateParam(sp.get('from')),
    to: dateParam(sp.get('to')),
    customerIds: unique(sp.getAll('customer_id').filter(isUuid)),
    userIds: unique(sp.getAll('user_id').filter(isUuid)),
    paymentRefId: sp.get('payment_ref_id') ?? '',
    statuses: unique(sp.getAll('status').filter((s): s is PaymentStatus => (PAYMENT_STATUSES as string[]).includes(s))),
    failureCodes: unique(sp.getAll('failure_code').filter((c) => FAILURE_CODE.test(c))),
    refunded: refundedParam(sp.get('refunded')),
    currencies,
    amountMin: INTEGER.test(amountMin) ? amountMin : '',
    amountMax: INTEGER.test(amountMax) ? amountMax : '',
    q: sp.get('q') ?? '',
    sort: sort && SORT_KEYS.includes(sort) ? effectiveSort({ currencies, sort }) : '-date',
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 500 ? limit : DEFAULT_LIMIT,
    cursor: sp.get('cursor') || null,
  };
}

/** filtersToSearch writes the view state to URL search params, omitting defaults. */
export function filtersToSearch(f: PaymentFilters): URLSearchParams {
  const sp = new URLSearchParams();
  if (f.from) sp.set('from', f.from);
  if (f.to) sp.set('to', f.to);
  f.customerIds.forEach((id) => sp.append('customer_id', id));
  f.userIds.forEach((id) => sp.append('user_id', id));
  if (f.paymentRefId.trim()) sp.set('payment_ref_id', f.paymentRefId.trim());
  f.statuses.forEach((s) => sp.append('status', s));
  f.failureCodes.forEach((c) => sp.append('failure_code', c));
  if (f.refunded) sp.set('refunded', f.refunded);
  f.currencies.forEach((c) => sp.append('currency', c));
  if (f.amountMin) sp.set('amount_min', f.amountMin);
  if (f.amountMax) sp.set('amount_max', f.amountMax);
  if (f.q.trim()) sp.set('q', f.q.trim());
  if (effectiveSort(f) !== '-date') sp.set('sort', effectiveSort(f));
  if (f.limit !== DEFAULT_LIMIT) sp.set('limit', String(f.limit));
  if (f.cursor) sp.set('cursor', f.cursor);
  return sp;
}

/** startOfDay returns the RFC 3339 instant (UTC) at which a local calendar day begins. */
export function startOfDay(day: string, offsetDays = 0): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(y, m - 1, d + offsetDays).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** QueryPurpose selects which parameters an API call takes. */
export type QueryPurpose = 'search' | 'summary' | 'export';

/**
 * apiQuery translates the view state into query API parameters. Calendar days become the
 * instants at which they start and end in the viewer's time zone, so `to` stays exclusive.
 */
export function apiQuery(f: PaymentFilters, purpose: QueryPurpose = 'search', timeZone?: string): URLSearchParams {
  const sp = new URLSearchParams();
  // Parameter names are checked against the query API's OpenAPI document.
  const set = (k: PaymentQueryParam, v: string) => sp.set(k, v);
  const append = (k: PaymentQueryParam, v: string) => sp.append(k, v);
  if (f.from) set('from', DAY.test(f.from) ? startOfDay(f.from) : f.from);
  if (f.to) set('to', DAY.test(f.to) ? startOfDay(f.to, 1) : f.to);
  f.customerIds.forEach((id) => append('customer_id', id));
  f.userIds.forEach((id) => append('user_id', id));
  if (f.paymentRefId.trim()) set('payment_ref_id', f.paymentRefId.trim());
  f.statuses.forEach((s) => append('status', s));
  f.failureCodes.forEach((c) => append('failure_code', c));
  if (f.refunded) set('refunded', f.refunded);
  f.currencies.forEach((c) => append('currency', c));
  if (f.amountMin) set('amount_min', f.amountMin);
  if (f.amountMax) set('amount_max', f.amountMax);
  if (f.q.trim()) set('q', f.q.trim());
  if (purpose !== 'summary') set('sort', effectiveSort(f));
  if (purpose === 'search') {
    set('limit', String(f.limit));
    if (f.cursor) set('cursor', f.cursor);
  }
  if (purpose !== 'search' && timeZone) set('tz', timeZone);
  return sp;
}

/** activeFilterCount counts the filters a person has set (not sort, size or page). */
export function activeFilterCount(f: PaymentFilters): number {
  return [
    f.from,
    f.to,
    f.customerIds.length,
    f.userIds.length,
    f.paymentRefId.trim(),
    f.statuses.length,
    f.failureCodes.length,
    f.refunded,
    f.currencies.length,
    f.amountMin,
    f.amountMax,
    f.q.trim(),
  ].filter(Boolean).length;
}
