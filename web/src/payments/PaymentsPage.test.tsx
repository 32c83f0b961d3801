import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { CustomerWithUsers, Payment } from '../api/types';
import { fakeFetch, type Call, type Route } from '../test/http';
import { currentLocation, renderApp, signIn, TEST_USER } from '../test/render';

const SHOP: CustomerWithUsers = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Nordic Coffee',
  email: 'shop@example.com',
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};
const BAKERY: CustomerWithUsers = {
  id: '22222222-2222-4222-8222-222222222222',
  name: 'Bakery ApS',
  email: null,
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};

function payment(i: number, over: Partial<Payment> = {}): Payment {
  const n = String(i).padStart(12, '0');
  return {
    id: `aaaaaaaa-0000-4000-8000-${n}`,
    payment_ref_id: `bbbbbbbb-0000-4000-8000-${n}`,
    customer_id: SHOP.id,
    customer_name: SHOP.name,
    user_id: TEST_USER.id,
    executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email },
    user_name: TEST_USER.name,
    user_email: TEST_USER.email,
    amount: 1000 * i + 50,
    currency: 'DKK',
    third_party: `Supplier ${i}`,
    description: '',
    status: 'succeeded',
    failure_code: null,
    failure_message: null,
    attempts: 1,
    processed_at: '2026-11-01T00:00:01Z',
    amount_refunded: 0,
    date: `2026-11-${String(10 + i).padStart(2, '0')}T12:00:00Z`,
    created_at: '2026-11-01T00:00:00Z',
    updated_at: '2026-11-01T00:00:00Z',
    ...over,
  };
}

const PAGE1 = [payment(1), payment(2, { currency: 'JPY', amount: 1500, status: 'pending' })];
const PAGE2 = [payment(3, { status: 'failed', currency: 'EUR' })];

function searchHandler(call: Call) {
  const cursor = call.url.searchParams.get('cursor');
  if (cursor === 'c2') return { body: { data: PAGE2, next_cursor: null, has_more: false, total: 3, total_relation: 'eq' } };
  return { body: { data: PAGE1, next_cursor: 'c2', has_more: true, total: 3, total_relation: 'eq' } };
}

const summary = {
  body: {
    count: 3,
    sum_by_currency: { DKK: 1050, JPY: 1500, EUR: 3050 },
    count_by_status: { pending: 1, processing: 0, succeeded: 1, failed: 1, canceled: 0 },
    count_by_failure_code: { insufficient_funds: 1 },
    success_rate: 0.5,
    histogram: [
      { date: '2026-11-11', count: 1, sum_by_currency: { DKK: 1050 } },
      { date: '2026-11-12', count: 2, sum_by_currency: { JPY: 1500, EUR: 3050 } },
    ],
  },
};

function routes(extra: Route[] = []): Route[] {
  return [
    ...extra,
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP, BAKERY] } }],
    ['GET', '/api/query/v1/payments/summary', summary],
    ['GET', '/api/query/v1/payments', searchHandler],
  ];
}

const searches = (calls: Call[]) => calls.filter((c) => c.url.pathname === '/api/query/v1/payments');

beforeEach(() => {
  signIn();
});

describe('PaymentsPage', () => {
  it('shows rows with amounts formatted per currency from minor units, and the summary', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments?limit=2', fetch);
    const rows = await screen.findAllByTestId('payment-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[0]!).getByText('Supplier 1')).toBeInTheDocument();
    expect(within(rows[0]!).getByTestId('payment-amount')).toHaveTextContent(/^DKK\s?10\.50$/);
    expect(within(rows[1]!).getByTestId('payment-amount')).toHaveTextContent('JP¥1,500');
    expect(within(rows[1]!).getByText('Pending')).toBeInTheDocument();
    expect(within(rows[0]!).getByText('Nordic Coffee')).toBeInTheDocument();
    expect(within(rows[0]!).getByText('ada@example.com')).toBeInTheDocument();
    expect(await screen.findByTestId('summary-count')).toHaveTextContent('3');
    expect(screen.getByTestId('summary-totals')).toHaveTextContent('€30.50');
    expect(screen.getByTestId('page-range')).toHaveTextContent('1–2 of 3 · Page 1 of 2');
  });

  it('says which API key executed a payment, and which user the others', async () => {
    const byKey = payment(1, { executed_by: { type: 'api_key', id: 'a0000000-0000-4000-8000-000000000001', name: 'Webshop' } });
    const byUser = payment(2, { executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email } });
    const { fetch } = fakeFetch(
      routes([['GET', '/api/query/v1/payments', { body: { data: [byKey, byUser], next_cursor: null, has_more: false, total: 2, total_relation: 'eq' } }]]),
    );
    renderApp('/payments', fetch);
    const rows = await screen.findAllByTestId('payment-row');
    expect(within(rows[0]!).getByTestId('executed-by')).toHaveTextContent('API key: Webshop');
    expect(within(rows[0]!).queryByText(TEST_USER.email)).not.toBeInTheDocument();
    expect(within(rows[1]!).getByTestId('executed-by')).toHaveTextContent(`${TEST_USER.name}${TEST_USER.email}`);
    await userEvent.click(within(rows[0]!).getByRole('button', { name: /Show details of payment/ }));
    const drawer = await screen.findByRole('dialog', { name: 'Payment details' });
    expect(within(drawer).getByRole('row', { name: /Executed by/ })).toHaveTextContent('API key: Webshop');
  });

  it('shows the failure reason under a failed status and the refund state under the amount', async () => {
    const lifecycle = [
      payment(1, { status: 'failed', failure_code: 'insufficient_funds', failure_message: 'balance 3.00', attempts: 1 }),
      payment(2, { amount_refunded: 500 }),
      payment(3, { amount_refunded: 3050 }),
      payment(4, { status: 'processing' }),
      payment(5, { status: 'canceled' }),
    ];
    const { fetch } = fakeFetch(
      routes([['GET', '/api/query/v1/payments', { body: { data: lifecycle, next_cursor: null, has_more: false, total: 5, total_relation: 'eq' } }]]),
    );
    renderApp('/payments', fetch);
    const rows = await screen.findAllByTestId('payment-row');
    expect(within(rows[0]!).getByText('Failed')).toBeInTheDocument();
    expect(within(rows[0]!).getByTestId('failure-reason')).toHaveTextContent('Insufficient funds');
    expect(within(rows[0]!).queryByTestId('refund-hint')).not.toBeInTheDocument();
    expect(within(rows[1]!).getByTestId('refund-hint')).toHaveTextContent('Partially refunded');
    expect(within(rows[2]!).getByTestId('refund-hint')).toHaveTextContent(/^Refunded$/);
    expect(within(rows[3]!).getByText('Processing')).toBeInTheDocument();
    expect(within(rows[4]!).getByText('Canceled')).toBeInTheDocument();
    expect(within(rows[1]!).queryByTestId('failure-reason')).not.toBeInTheDocument();
  });

  it('filters by all five statuses, failure codes and refunds', async () => {
    const { fetch, calls } = fakeFetch(
      routes([
        [
          'GET',
          '/api/query/v1/payments/summary',
          { body: { ...summary.body, count_by_failure_code: { insufficient_funds: 2, card_velocity: 1 }, success_rate: 0.8 } },
        ],
      ]),
    );
    renderApp('/payments?failure_code=insufficient_funds&failure_code=card_velocity', fetch);
    await screen.findAllByTestId('payment-row');
    expect(await screen.findByTestId('summary-success-rate')).toHaveTextContent('80%');
    for (const s of ['Pending', 'Processing', 'Succeeded', 'Failed', 'Canceled']) {
      expect(screen.getByRole('checkbox', { name: s })).toBeInTheDocument();
    }
    // Known codes are named; a code the UI has no words for is shown as sent.
    expect(screen.getByText('Insufficient funds', { selector: '.mantine-Pill-label' })).toBeInTheDocument();
    expect(screen.getByText('card_velocity', { selector: '.mantine-Pill-label' })).toBeInTheDocument();
    expect(searches(calls)[0]!.url.searchParams.getAll('failure_code')).toEqual(['insufficient_funds', 'card_velocity']);
    await userEvent.click(screen.getByRole('checkbox', { name: 'Processing' }));
    await userEvent.click(screen.getByRole('checkbox', { name: 'Canceled' }));
    await userEvent.selectOptions(screen.getByLabelText('Refunds'), 'false');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() =>
      expect(currentLocation()).toBe(
        '/payments?status=processing&status=canceled&failure_code=insufficient_funds&failure_code=card_velocity&refunded=false',
      ),
    );
    await waitFor(() => expect(searches(calls).at(-1)!.url.searchParams.get('refunded')).toBe('false'));
    const q = searches(calls).at(-1)!.url.searchParams;
    expect(q.getAll('status')).toEqual(['processing', 'canceled']);
    expect(q.getAll('failure_code')).toEqual(['insufficient_funds', 'card_velocity']);
    expect(screen.getByRole('button', { name: /^Filters/ })).toHaveTextContent('3');
  });

  it('shows a lower-bound total as "10,000+" without a page count, in English and Danish', async () => {
    const { fetch } = fakeFetch(
      routes([['GET', '/api/query/v1/payments', { body: { data: PAGE1, next_cursor: 'c2', has_more: true, total: 10000, total_relation: 'gte' } }]]),
    );
    renderApp('/payments?limit=2', fetch);
    await screen.findAllByTestId('payment-row');
    const range = screen.getByTestId('page-range');
    expect(range).toHaveTextContent(/^1–2 of 10,000\+ · Page 1$/);
    expect(range).toHaveAttribute('title', 'more than 10,000');
    await userEvent.selectOptions(await screen.findByLabelText('Language'), 'da');
    await waitFor(() => expect(screen.getByTestId('page-range')).toHaveTextContent(/^1–2 af 10\.000\+ · Side 1$/));
    expect(screen.getByTestId('page-range')).toHaveAttribute('title', 'mere end 10.000');
    // The language is module state: switch back so the next tests run in English.
    await userEvent.selectOptions(screen.getByLabelText('Sprog'), 'en');
    await waitFor(() => expect(screen.getByTestId('page-range')).toHaveTextContent(/^1–2 of 10,000\+ · Page 1$/));
  });

  it('reads filters from the URL and sends them to the API', async () => {
    const { fetch, calls } = fakeFetch(routes());
    renderApp(`/payments?customer_id=${SHOP.id}&status=failed&currency=EUR&from=2026-11-01&sort=amount&limit=10&q=beans`, fetch);
    await screen.findAllByTestId('payment-row');
    const q = searches(calls)[0]!.url.searchParams;
    expect(q.getAll('customer_id')).toEqual([SHOP.id]);
    expect(q.getAll('status')).toEqual(['failed']);
    expect(q.getAll('currency')).toEqual(['EUR']);
    expect(q.get('from')).toMatch(/^2026-1[01]-\d\dT\d\d:00:00Z$/);
    expect(q.has('to')).toBe(false);
    expect(q.get('sort')).toBe('amount');
    expect(q.get('limit')).toBe('10');
    expect(q.get('q')).toBe('beans');
    const sum = calls.find((c) => c.url.pathname.endsWith('/summary'))!.url.searchParams;
    expect(sum.get('tz')).toBeTruthy();
    expect(sum.has('limit')).toBe(false);
    // The form shows what the URL says.
    expect(screen.getByLabelText('Search')).toHaveValue('beans');
    expect(screen.getByRole('checkbox', { name: 'Failed' })).toBeChecked();
  });

  it('applies a filter into the URL with either date end alone', async () => {
    const { fetch, calls } = fakeFetch(routes());
    renderApp('/payments', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.type(screen.getByLabelText('To (inclusive)'), '2026-11-30');
    await userEvent.click(screen.getByRole('checkbox', { name: 'Pending' }));
    await userEvent.type(screen.getByLabelText('Search'), 'coffee');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments?to=2026-11-30&status=pending&q=coffee'));
    await waitFor(() => expect(searches(calls).at(-1)!.url.searchParams.get('q')).toBe('coffee'));
    const q = searches(calls).at(-1)!.url.searchParams;
    expect(q.has('from')).toBe(false);
    // Inclusive day in the UI → exclusive start of the next day for the API.
    expect(new Date(q.get('to')!).getDate()).toBe(1);
  });

  it('converts the amount range to minor units of the selected currency', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments?currency=JPY', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.type(screen.getByLabelText(/Minimum amount/), '1,000');
    await userEvent.type(screen.getByLabelText(/Maximum amount/), '5000');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments?currency=JPY&amount_min=1000&amount_max=5000'));
  });

  it('rejects a partial payment reference', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.type(screen.getByLabelText('Payment reference'), 'bbbbbbbb');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    expect(await screen.findByText('Enter a full payment reference (a UUID)')).toBeInTheDocument();
    expect(currentLocation()).toBe('/payments');
  });

  it('pages forward with the cursor and back again', async () => {
    const { fetch, calls } = fakeFetch(routes());
    renderApp('/payments?limit=2', fetch);
    await screen.findAllByTestId('payment-row');
    expect(screen.getByRole('button', { name: /Previous page/ })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: /Next page/ }));
    await waitFor(() => expect(screen.getAllByTestId('payment-row')).toHaveLength(1));
    expect(currentLocation()).toBe('/payments?limit=2&cursor=c2');
    expect(searches(calls).at(-1)!.url.searchParams.get('cursor')).toBe('c2');
    expect(screen.getByTestId('page-range')).toHaveTextContent('3–3 of 3 · Page 2 of 2');
    expect(screen.getByRole('button', { name: /Next page/ })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: /Previous page/ }));
    await waitFor(() => expect(screen.getAllByTestId('payment-row')).toHaveLength(2));
    expect(currentLocation()).toBe('/payments?limit=2');
    expect(screen.getByTestId('page-range')).toHaveTextContent('1–2 of 3 · Page 1 of 2');
  });

  it('sorts by amount from the column header', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments?currency=DKK', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.click(screen.getByRole('button', { name: 'Sort by Amount' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments?currency=DKK&sort=-amount'));
    await userEvent.click(screen.getByRole('button', { name: 'Sort by Amount' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments?currency=DKK&sort=amount'));
    expect(screen.getByRole('columnheader', { name: /Amount/ })).toHaveAttribute('aria-sort', 'ascending');
  });

  it('offers amount sorting only within one currency', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments?sort=-amount', fetch);
    await screen.findAllByTestId('payment-row');
    expect(screen.queryByRole('button', { name: 'Sort by Amount' })).not.toBeInTheDocument();
    expect(screen.getByRole('columnheader', { name: 'Amount' })).not.toHaveAttribute('aria-sort');
    expect(screen.getByTestId('amount-sort-hint')).toHaveTextContent('Filter on one currency to sort by amount.');
    expect(screen.getByRole('combobox', { name: 'Sort' })).toHaveValue('-date');
  });

  it('shows an empty state', async () => {
    const { fetch } = fakeFetch(routes([['GET', '/api/query/v1/payments', { body: { data: [], next_cursor: null, has_more: false, total: 0, total_relation: 'eq' } }]]));
    renderApp('/payments?status=failed', fetch);
    expect(await screen.findByText('No payments match these filters.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(currentLocation()).toBe('/payments'));
  });

  it('shows the problem when the search fails', async () => {
    const { fetch } = fakeFetch(
      routes([
        [
          'GET',
          '/api/query/v1/payments',
          {
            status: 400,
            body: { title: 'Invalid filter', status: 400, code: 'invalid', detail: 'amount_min must be an integer', errors: [{ field: 'amount_min', message: 'not an integer' }] },
          },
        ],
      ]),
    );
    renderApp('/payments', fetch);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load payments');
    expect(alert).toHaveTextContent('amount_min must be an integer');
    expect(alert).toHaveTextContent('amount_min: not an integer');
    expect(screen.getByRole('button', { name: 'Try again' })).toBeInTheDocument();
  });

  it('exports the current filter as CSV with the Authorization header', async () => {
    const createObjectURL = vi.fn(() => 'blob:x');
    Object.assign(URL, { createObjectURL, revokeObjectURL: vi.fn() });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {});
    const { fetch, calls } = fakeFetch(
      routes([['GET', '/api/query/v1/payments/export.csv', { body: 'id\n1\n', headers: { 'Content-Type': 'text/csv' } }]]),
    );
    renderApp('/payments?currency=DKK&limit=10&cursor=c2', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.click(screen.getByRole('button', { name: 'Export CSV' }));
    expect(await screen.findByText(/Export downloaded/)).toBeInTheDocument();
    const call = calls.find((c) => c.url.pathname.endsWith('/export.csv'))!;
    expect(call.headers.get('Authorization')).toBe('Bearer test-token');
    expect(call.url.searchParams.getAll('currency')).toEqual(['DKK']);
    expect(call.url.searchParams.has('cursor')).toBe(false);
    expect(call.url.searchParams.has('limit')).toBe(false);
    expect(click).toHaveBeenCalled();
    expect(createObjectURL).toHaveBeenCalled();
  });

  it('opens the details of a payment', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments', fetch);
    await screen.findAllByTestId('payment-row');
    await userEvent.click(screen.getByRole('button', { name: new RegExp(`Show details of payment ${PAGE1[0]!.payment_ref_id}$`) }));
    const dialog = await screen.findByRole('dialog', { name: 'Payment details' });
    expect(within(dialog).getByText(PAGE1[0]!.id)).toBeInTheDocument();
    expect(within(dialog).getByText(PAGE1[0]!.payment_ref_id)).toBeInTheDocument();
  });

  it('offers the first page when a cursor is no longer accepted', async () => {
    const bad = {
      status: 400,
      body: { title: 'Invalid request', status: 400, code: 'invalid', errors: [{ field: 'cursor', message: 'is not a cursor returned by this API' }] },
    };
    const { fetch } = fakeFetch(routes([['GET', '/api/query/v1/payments', (c: Call) => (c.url.searchParams.has('cursor') ? bad : searchHandler(c))]]));
    renderApp('/payments?cursor=stale', fetch);
    expect(await screen.findByText('cursor: is not a cursor returned by this API')).toBeInTheDocument();
    // The pagination bar has one too; the error's own button comes first.
    await userEvent.click(screen.getAllByRole('button', { name: 'First page' })[0]!);
    await waitFor(() => expect(currentLocation()).toBe('/payments'));
    expect(await screen.findAllByTestId('payment-row')).toHaveLength(2);
  });

  it('folds the filter panel away on wide screens', async () => {
    const { fetch } = fakeFetch(routes());
    renderApp('/payments', fetch);
    await screen.findAllByTestId('payment-row');
    const toggle = screen.getByRole('button', { name: 'Filters' });
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByRole('button', { name: 'Apply filters' })).not.toBeInTheDocument();
  });
});
