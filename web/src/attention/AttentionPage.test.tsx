import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CreatedPayment, CustomerWithUsers } from '../api/types';
import { fakeFetch, type Call } from '../test/http';
import { renderApp, signIn, TEST_USER } from '../test/render';

const SHOP: CustomerWithUsers = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Nordic Coffee',
  email: null,
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};
const BAKERY: CustomerWithUsers = { ...SHOP, id: '22222222-2222-4222-8222-222222222222', name: 'Bakery ApS' };

function dead(i: number, over: Partial<CreatedPayment> = {}): CreatedPayment {
  const n = String(i).padStart(12, '0');
  return {
    id: `aaaaaaaa-0000-4000-8000-${n}`,
    payment_ref_id: `bbbbbbbb-0000-4000-8000-${n}`,
    customer_id: SHOP.id,
    user_id: TEST_USER.id,
    executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email },
    amount: 12_345,
    currency: 'DKK',
    third_party: `Supplier ${i}`,
    description: '',
    status: 'failed',
    failure_code: 'retries_exhausted',
    failure_message: `provider timed out (${i})`,
    attempts: 8,
    processed_at: '2026-11-25T11:00:00Z',
    amount_refunded: 0,
    date: '2026-11-25T10:00:00Z',
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T11:00:00Z',
    ...over,
  };
}

beforeEach(() => {
  signIn();
});

describe('AttentionPage', () => {
  it('lists dead letters with attempts and last error, pages on, and retries one', async () => {
    let retried = false;
    const { fetch, calls } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP, BAKERY] } }],
      [
        'GET',
        '/api/command/v1/dead-letters',
        (c: Call) => {
          if (c.url.searchParams.get('cursor') === 'n2') return { body: { data: [dead(3, { customer_id: BAKERY.id })], next_cursor: null, has_more: false } };
          const first = retried ? [dead(2)] : [dead(1), dead(2)];
          return { body: { data: first, next_cursor: 'n2', has_more: true } };
        },
      ],
      [
        'POST',
        `/api/command/v1/payments/${dead(1).id}/retry`,
        () => {
          retried = true;
          return { body: { ...dead(1), status: 'pending', failure_code: null, failure_message: null }, headers: { 'X-Consistency-Token': 'ct-dl' } };
        },
      ],
    ]);
    renderApp('/attention', fetch);
    expect(await screen.findByRole('heading', { level: 1, name: 'Needs attention' })).toBeInTheDocument();
    const list = await screen.findByRole('list', { name: 'Payments that need attention' });
    let items = within(list).getAllByTestId('dead-letter');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent('Supplier 1');
    expect(items[0]).toHaveTextContent(/DKK\s?123\.45/);
    expect(items[0]).toHaveTextContent('Nordic Coffee');
    expect(within(items[0]!).getByTestId('dead-letter-attempts')).toHaveTextContent('8');
    expect(within(items[0]!).getByTestId('dead-letter-error')).toHaveTextContent('provider timed out (1)');
    expect(within(items[0]!).getByRole('link', { name: /bbbbbbbb/ })).toHaveAttribute(
      'href',
      `/payments?payment_ref_id=${dead(1).payment_ref_id}`,
    );

    await userEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(list).getAllByTestId('dead-letter')).toHaveLength(3));
    expect(within(list).getAllByTestId('dead-letter')[2]).toHaveTextContent('Bakery ApS');
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();

    await userEvent.click(within(items[0]!).getByRole('button', { name: 'Retry payment bbbbbbbb…' }));
    expect(await screen.findByText('Payment to Supplier 1 queued for another attempt')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText('Supplier 1')).not.toBeInTheDocument());
    items = within(list).getAllByTestId('dead-letter');
    expect(items[0]).toHaveTextContent('Supplier 2');
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('shows an empty state and asks for every customer by default', async () => {
    const { fetch, calls } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP, BAKERY] } }],
      ['GET', '/api/command/v1/dead-letters', { body: { data: [], next_cursor: null, has_more: false } }],
    ]);
    renderApp('/attention', fetch);
    expect(await screen.findByText('Nothing needs attention: no payment has run out of retries.')).toBeInTheDocument();
    expect(calls.find((c) => c.url.pathname === '/api/command/v1/dead-letters')!.url.searchParams.getAll('customer_id')).toEqual([]);
  });

  it('says when a retry is refused', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
      ['GET', '/api/command/v1/dead-letters', { body: { data: [dead(1)], next_cursor: null, has_more: false } }],
      [
        'POST',
        `/api/command/v1/payments/${dead(1).id}/retry`,
        { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'not_retryable', detail: 'not a dead letter' } },
      ],
    ]);
    renderApp('/attention', fetch);
    await userEvent.click(await screen.findByRole('button', { name: /^Retry payment/ }));
    expect(await screen.findByText('Only payments whose retries ran out can be retried.')).toBeInTheDocument();
  });

  it('is in the main navigation', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [] } }],
      ['GET', '/api/command/v1/dead-letters', { body: { data: [], next_cursor: null, has_more: false } }],
      ['GET', '/api/query/v1/payments/summary', { body: { count: 0, sum_by_currency: {}, count_by_status: { pending: 0, processing: 0, succeeded: 0, failed: 0, canceled: 0 }, count_by_failure_code: {}, success_rate: null, histogram: [] } }],
      ['GET', '/api/query/v1/payments', { body: { data: [], next_cursor: null, has_more: false, total: 0, total_relation: 'eq' } }],
    ]);
    renderApp('/payments', fetch);
    const nav = (await screen.findAllByRole('navigation', { name: 'Main navigation' }))[0]!;
    await userEvent.click(within(nav).getByRole('link', { name: 'Needs attention' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Needs attention' })).toBeInTheDocument();
  });
});
