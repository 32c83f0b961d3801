import { describe, expect, it } from 'vitest';
import { activeFilterCount, apiQuery, EMPTY_FILTERS, filtersFromSearch, filtersToSearch, startOfDay, type PaymentFilters } from './filters';

const C1 = '11111111-1111-4111-8111-111111111111';
const C2 = '22222222-2222-4222-8222-222222222222';
const U1 = '33333333-3333-4333-8333-333333333333';

const full: PaymentFilters = {
  from: '2026-11-01',
  to: '2026-11-30',
  customerIds: [C1, C2],
  userIds: [U1],
  paymentRefId: '44444444-4444-4444-8444-444444444444',
  statuses: ['pending', 'processing', 'failed', 'canceled'],
  failureCodes: ['insufficient_funds', 'retries_exhausted'],
  refunded: 'false',
  currencies: ['DKK', 'JPY'],
  amountMin: '100',
  amountMax: '99999',
  q: 'coffee',
  sort: '-date',
  limit: 10,
  cursor: 'abc',
};

/** oneCurrency is a view that can be ordered by amount. */
const oneCurrency: PaymentFilters = { ...full, currencies: ['JPY'], sort: 'amount' };

describe('URL round trip', () => {
  it('OK', () => {
    expect(filtersFromSearch(filtersToSearch(full))).toEqual(full);
  });
  it('Empty', () => {
    expect(filtersToSearch(EMPTY_FILTERS).toString()).toBe('');
    expect(filtersFromSearch(new URLSearchParams())).toEqual(EMPTY_FILTERS);
  });
  it('DropsMalformed', () => {
    const f = filtersFromSearch(
      new URLSearchParams(
        'from=yesterday&to=2026-13&customer_id=nope&customer_id=' + C1 + '&status=lost&status=pending&currency=dk&currency=eur&amount_min=1.5&sort=name&limit=9999' +
          '&failure_code=Bad%20Code&failure_code=do_not_honor&refunded=maybe',
      ),
    );
    expect(f).toEqual({ ...EMPTY_FILTERS, customerIds: [C1], statuses: ['pending'], failureCodes: ['do_not_honor'], currencies: ['EUR'] });
  });
  it('KeepsInstants', () => {
    const f = filtersFromSearch(new URLSearchParams('from=2026-11-01T10:00:00Z&to=2026-11-02T00:00:00%2B01:00'));
    expect(f.from).toBe('2026-11-01T10:00:00Z');
    expect(f.to).toBe('2026-11-02T00:00:00+01:00');
  });
});

describe('apiQuery', () => {
  it('SearchTurnsDaysIntoInstants', () => {
    const q = apiQuery(full, 'search');
    expect(q.get('from')).toBe(startOfDay('2026-11-01'));
    // "to" is inclusive in the UI and exclusive in the API: the next day's start.
    expect(q.get('to')).toBe(startOfDay('2026-12-01'));
    expect(new Date(q.get('to')!).getTime() - new Date(q.get('from')!).getTime()).toBeGreaterThanOrEqual(29 * 86_400_000);
    expect(q.getAll('customer_id')).toEqual([C1, C2]);
    expect(q.getAll('status')).toEqual(['pending', 'processing', 'failed', 'canceled']);
    expect(q.getAll('failure_code')).toEqual(['insufficient_funds', 'retries_exhausted']);
    expect(q.get('refunded')).toBe('false');
    expect(q.getAll('currency')).toEqual(['DKK', 'JPY']);
    expect(q.get('amount_min')).toBe('100');
    expect(q.get('amount_max')).toBe('99999');
    expect(q.get('q')).toBe('coffee');
    expect(q.get('sort')).toBe('-date');
    expect(q.get('limit')).toBe('10');
    expect(q.get('cursor')).toBe('abc');
  });
  it('EitherEndAlone', () => {
    expect([...apiQuery({ ...EMPTY_FILTERS, from: '2026-11-05' }).keys()]).toEqual(['from', 'sort', 'limit']);
    expect([...apiQuery({ ...EMPTY_FILTERS, to: '2026-11-05' }).keys()]).toEqual(['to', 'sort', 'limit']);
  });
  it('Summary', () => {
    const q = apiQuery(full, 'summary', 'Europe/Copenhagen');
    expect(q.get('tz')).toBe('Europe/Copenhagen');
    expect(q.has('cursor')).toBe(false);
    expect(q.has('limit')).toBe(false);
    expect(q.has('sort')).toBe(false);
  });
  it('Export', () => {
    const q = apiQuery(oneCurrency, 'export', 'America/New_York');
    expect(q.has('cursor')).toBe(false);
    expect(q.has('limit')).toBe(false);
    expect(q.get('sort')).toBe('amount');
    expect(q.get('tz')).toBe('America/New_York');
  });
  it('AmountSortNeedsOneCurrency', () => {
    expect(apiQuery(oneCurrency).get('sort')).toBe('amount');
    expect(apiQuery({ ...oneCurrency, currencies: ['DKK', 'JPY'] }).get('sort')).toBe('-date');
    expect(apiQuery({ ...oneCurrency, currencies: [] }, 'export').get('sort')).toBe('-date');
    expect(filtersFromSearch(new URLSearchParams('sort=-amount')).sort).toBe('-date');
    expect(filtersFromSearch(new URLSearchParams('sort=-amount&currency=EUR')).sort).toBe('-amount');
    expect(filtersFromSearch(filtersToSearch(oneCurrency))).toEqual(oneCurrency);
  });
  it('PassesInstantsThrough', () => {
    const q = apiQuery({ ...EMPTY_FILTERS, from: '2026-11-01T10:00:00Z', to: '2026-11-01T12:00:00Z' });
    expect(q.get('from')).toBe('2026-11-01T10:00:00Z');
    expect(q.get('to')).toBe('2026-11-01T12:00:00Z');
  });
});

describe('startOfDay', () => {
  it('is local midnight as RFC 3339 UTC without millis', () => {
    const s = startOfDay('2026-03-29');
    expect(s).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const d = new Date(s);
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2026, 2, 29, 0, 0]);
  });
});

describe('activeFilterCount', () => {
  it('counts set filters only', () => {
    expect(activeFilterCount(EMPTY_FILTERS)).toBe(0);
    expect(activeFilterCount(full)).toBe(12);
    expect(activeFilterCount({ ...EMPTY_FILTERS, refunded: 'true' })).toBe(1);
    expect(activeFilterCount({ ...EMPTY_FILTERS, sort: 'amount', limit: 10, cursor: 'x' })).toBe(0);
  });
});
