import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CustomerWithUsers, Payment, PaymentEvent } from '../api/types';
import { fakeFetch, type Call, type Route } from '../test/http';
import { renderApp, signIn, TEST_USER } from '../test/render';

const SHOP: CustomerWithUsers = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Nordic Coffee',
  email: null,
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};

const ID = 'aaaaaaaa-0000-4000-8000-000000000001';

function payment(over: Partial<Payment> = {}): Payment {
  return {
    id: ID,
    payment_ref_id: 'bbbbbbbb-0000-4000-8000-000000000001',
    customer_id: SHOP.id,
    customer_name: SHOP.name,
    user_id: TEST_USER.id,
    executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email },
    user_name: TEST_USER.name,
    user_email: TEST_USER.email,
    amount: 10_000,
    currency: 'DKK',
    third_party: 'Roastery',
    description: '',
    status: 'succeeded',
    failure_code: null,
    failure_message: null,
    attempts: 1,
    processed_at: '2026-11-25T10:00:05Z',
    amount_refunded: 0,
    date: '2026-11-25T10:00:00Z',
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:00:05Z',
    ...over,
  };
}

const EVENTS: PaymentEvent[] = [
  { id: 1, payment_id: ID, type: 'payment.created', data: {}, created_at: '2026-11-25T10:00:00Z' },
  { id: 2, payment_id: ID, type: 'payment.processing', data: { attempt: 1 }, created_at: '2026-11-25T10:00:01Z' },
];

/** setup serves `before` until a command answers with `token`; reads with that token get `after`.
 * The consistency token store is per tab (module state), so each test uses a token of its own. */
function setup(before: Payment, after: Payment, command: Route[] = [], token = 'ct-none') {
  const current = (c: Call) => (c.url.searchParams.get('consistency_token') === token ? after : before);
  const { fetch, calls } = fakeFetch([
    ...command,
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
    ['GET', '/api/query/v1/payments/summary', { body: { count: 1, sum_by_currency: {}, count_by_status: { pending: 0, processing: 0, succeeded: 0, failed: 0, canceled: 0 }, count_by_failure_code: {}, success_rate: null, histogram: [] } }],
    ['GET', `/api/query/v1/payments/${ID}/events`, { body: { data: EVENTS } }],
    ['GET', `/api/query/v1/payments/${ID}`, (c) => ({ body: current(c) })],
    [
      'GET',
      '/api/query/v1/payments',
      (c) => ({ body: { data: [current(c)], next_cursor: null, has_more: false, total: 1, total_relation: 'eq' } }),
    ],
  ]);
  return { fetch, calls, posts: () => calls.filter((c) => c.method === 'POST') };
}

async function openDrawer() {
  const row = await screen.findByTestId('payment-row');
  await userEvent.click(within(row).getByRole('button', { name: /Show details/ }));
  return screen.findByRole('dialog', { name: 'Payment details' });
}

beforeEach(() => {
  signIn();
});

describe('PaymentDrawer', () => {
  it('shows the timeline of the payment', async () => {
    const { fetch } = setup(payment(), payment());
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    const timeline = await within(drawer).findByRole('list', { name: 'Timeline' });
    expect(within(timeline).getAllByRole('listitem')).toHaveLength(2);
    expect(timeline).toHaveTextContent('Sent to the provider');
  });

  it.each([
    ['pending', ['Cancel payment'], payment({ status: 'pending', processed_at: null, attempts: 0 })],
    ['processing', [], payment({ status: 'processing' })],
    ['succeeded', ['Refund'], payment()],
    ['partly refunded', ['Refund'], payment({ amount_refunded: 2_500 })],
    ['fully refunded', [], payment({ amount_refunded: 10_000 })],
    ['declined', [], payment({ status: 'failed', failure_code: 'do_not_honor', failure_message: 'issuer said no' })],
    ['dead letter', ['Retry payment'], payment({ status: 'failed', failure_code: 'retries_exhausted', failure_message: 'timeout', attempts: 8 })],
    ['canceled', [], payment({ status: 'canceled', processed_at: null })],
  ] as const)('a %s payment offers %j', async (_, want, p) => {
    const { fetch } = setup(p, p);
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    await within(drawer).findByRole('list', { name: 'Timeline' });
    const actions = within(drawer).queryByRole('region', { name: 'Actions' });
    if (want.length === 0) {
      expect(actions).toBeNull();
    } else {
      expect(within(actions!).getAllByRole('button').map((b) => b.textContent)).toEqual(want);
    }
  });

  it('shows why a payment failed, with its attempts', async () => {
    const p = payment({ status: 'failed', failure_code: 'retries_exhausted', failure_message: 'provider timed out', attempts: 8 });
    const { fetch } = setup(p, p);
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    const alert = within(drawer).getByTestId('failure-alert');
    expect(alert).toHaveTextContent('Retries exhausted');
    expect(alert).toHaveTextContent('provider timed out');
    expect(alert).toHaveTextContent('Attempts: 8');
  });

  it('cancels a pending payment after a confirmation, then reads it again with the consistency token', async () => {
    const pending = payment({ status: 'pending', processed_at: null, attempts: 0 });
    const canceled = { ...pending, status: 'canceled' as const };
    const { fetch, calls, posts } = setup(pending, canceled, [
      ['POST', `/api/command/v1/payments/${ID}/cancel`, { body: canceled, headers: { 'X-Consistency-Token': 'ct-1' } }],
    ], 'ct-1');
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    await userEvent.click(await within(drawer).findByRole('button', { name: 'Cancel payment' }));
    const confirm = within(drawer).getByRole('group', { name: 'Cancel this payment?' });
    await waitFor(() => expect(confirm).toHaveFocus());
    // "Keep" closes the question and puts focus back where it was.
    await userEvent.click(within(confirm).getByRole('button', { name: 'Keep payment' }));
    await waitFor(() => expect(within(drawer).getByRole('button', { name: 'Cancel payment' })).toHaveFocus());
    expect(posts()).toHaveLength(0);

    await userEvent.click(within(drawer).getByRole('button', { name: 'Cancel payment' }));
    await userEvent.click(within(drawer).getByRole('button', { name: 'Yes, cancel payment' }));
    await waitFor(() => expect(within(drawer).getByTestId('payment-heading')).toHaveTextContent('Canceled'));
    expect(posts()).toHaveLength(1);
    expect(within(drawer).queryByRole('region', { name: 'Actions' })).toBeNull();
    expect(within(drawer).getByTestId('payment-heading')).toHaveFocus();
    const withToken = (path: string) => calls.some((c) => c.url.pathname === path && c.url.searchParams.get('consistency_token') === 'ct-1');
    await waitFor(() => expect(withToken(`/api/query/v1/payments/${ID}`)).toBe(true));
    await waitFor(() => expect(withToken(`/api/query/v1/payments/${ID}/events`)).toBe(true));
    await waitFor(() => expect(withToken('/api/query/v1/payments')).toBe(true));
    await waitFor(() => expect(within(screen.getByTestId('payment-row')).getByText('Canceled')).toBeInTheDocument());
  });

  it('says why a cancel was refused', async () => {
    const pending = payment({ status: 'pending', processed_at: null, attempts: 0 });
    const { fetch } = setup(pending, pending, [
      [
        'POST',
        `/api/command/v1/payments/${ID}/cancel`,
        { status: 409, body: { type: 'about:blank', title: 'Conflict', status: 409, code: 'not_cancelable', detail: 'payment is processing' } },
      ],
    ]);
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    await userEvent.click(within(drawer).getByRole('button', { name: 'Cancel payment' }));
    await userEvent.click(within(drawer).getByRole('button', { name: 'Yes, cancel payment' }));
    expect(await within(drawer).findByRole('alert')).toHaveTextContent('This payment can no longer be canceled');
  });

  it('refunds the remaining amount by default, exactly in minor units, with an Idempotency-Key', async () => {
    const p = payment({ amount: 10_000, amount_refunded: 2_500 });
    const { fetch, posts } = setup(p, { ...p, amount_refunded: 10_000 }, [
      [
        'POST',
        `/api/command/v1/payments/${ID}/refunds`,
        (c) => ({
          status: 201,
          body: { id: 'r1', payment_id: ID, amount: (c.body as { amount: number }).amount, currency: 'DKK', reason: '', status: 'pending' },
          headers: { 'X-Consistency-Token': 'ct-2' },
        }),
      ],
    ], 'ct-2');
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    await userEvent.click(await within(drawer).findByRole('button', { name: 'Refund' }));
    const amount = within(drawer).getByRole('textbox', { name: /Amount to refund/ });
    await waitFor(() => expect(amount).toHaveFocus());
    expect(amount).toHaveValue('75.00');
    expect(within(drawer).getByText(/Up to DKK\s?75\.00 can be refunded/)).toBeInTheDocument();

    // More than remains is refused before anything is sent.
    await userEvent.clear(amount);
    await userEvent.type(amount, '75.01');
    await userEvent.click(within(drawer).getByRole('button', { name: /^Refund/ }));
    expect(await within(drawer).findByText(/At most DKK\s?75\.00 can be refunded/)).toBeInTheDocument();
    await userEvent.clear(amount);
    await userEvent.type(amount, '12.3');
    await userEvent.click(within(drawer).getByRole('button', { name: /^Refund DKK\s?12\.30$/ }));
    await waitFor(() => expect(posts()).toHaveLength(1));
    expect(posts()[0]!.body).toEqual({ amount: 1230 });
    expect(posts()[0]!.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => expect(within(drawer).getByTestId('payment-heading')).toHaveTextContent(/Refunded/));
  });

  it('retries a dead letter', async () => {
    const dead = payment({ status: 'failed', failure_code: 'retries_exhausted', failure_message: 'timeout', attempts: 8 });
    const again = { ...dead, status: 'pending' as const, failure_code: null, failure_message: null };
    const { fetch, posts } = setup(dead, again, [
      ['POST', `/api/command/v1/payments/${ID}/retry`, { body: again, headers: { 'X-Consistency-Token': 'ct-3' } }],
    ], 'ct-3');
    renderApp('/payments', fetch);
    const drawer = await openDrawer();
    await userEvent.click(await within(drawer).findByRole('button', { name: 'Retry payment' }));
    await waitFor(() => expect(within(drawer).getByTestId('payment-heading')).toHaveTextContent('Pending'));
    expect(posts().map((c) => c.url.pathname)).toEqual([`/api/command/v1/payments/${ID}/retry`]);
    expect(await screen.findByText('Payment queued for another attempt')).toBeInTheDocument();
    // Pending again: it can be canceled now.
    expect(within(drawer).getByRole('button', { name: 'Cancel payment' })).toBeInTheDocument();
  });
});
