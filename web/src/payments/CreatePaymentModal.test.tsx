import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CreatedPayment, CustomerWithUsers } from '../api/types';
import { fakeFetch, type Call, type Reply } from '../test/http';
import { renderApp, signIn, TEST_USER } from '../test/render';

const SHOP: CustomerWithUsers = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Nordic Coffee',
  email: null,
  users: [{ id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email }],
};

const created: CreatedPayment = {
  id: 'aaaaaaaa-0000-4000-8000-000000000099',
  payment_ref_id: 'bbbbbbbb-0000-4000-8000-000000000099',
  customer_id: SHOP.id,
  user_id: TEST_USER.id,
  executed_by: { type: 'user', id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email },
  amount: 123456,
  currency: 'DKK',
  third_party: 'Roastery',
  description: '',
  status: 'pending',
  failure_code: null,
  failure_message: null,
  attempts: 0,
  processed_at: null,
  amount_refunded: 0,
  date: '2026-11-25T10:00:00Z',
  created_at: '2026-11-25T10:00:00Z',
  updated_at: '2026-11-25T10:00:00Z',
};

function setup(postReplies: Reply[]) {
  let written = false;
  const replies = [...postReplies];
  const { fetch, calls } = fakeFetch([
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
    ['GET', '/api/query/v1/payments/summary', { body: { count: 0, sum_by_currency: {}, count_by_status: { pending: 0, processing: 0, succeeded: 0, failed: 0, canceled: 0 }, count_by_failure_code: {}, success_rate: null, histogram: [] } }],
    [
      'GET',
      '/api/query/v1/payments',
      (c: Call) => ({
        body: {
          data: written && c.url.searchParams.get('consistency_token') === 'ct-42' ? [{ ...created, customer_name: SHOP.name, user_name: TEST_USER.name, user_email: TEST_USER.email }] : [],
          next_cursor: null,
          has_more: false,
          total: written ? 1 : 0,
          total_relation: 'eq',
        },
      }),
    ],
    [
      'POST',
      '/api/command/v1/payments',
      async () => {
        // Slow enough that a double click lands while the first request is in flight.
        await new Promise((r) => setTimeout(r, 50));
        const r = replies.shift() ?? { status: 500, body: { title: 'unexpected' } };
        if ((r.status ?? 200) < 300) written = true;
        return r;
      },
    ],
  ]);
  return { fetch, calls, posts: () => calls.filter((c) => c.method === 'POST') };
}

const ok: Reply = { status: 201, body: created, headers: { 'X-Consistency-Token': 'ct-42' } };

async function fillForm() {
  await userEvent.click(await screen.findByRole('button', { name: 'New payment' }));
  const dialog = await screen.findByRole('dialog', { name: 'New payment' });
  await userEvent.type(within(dialog).getByRole('textbox', { name: /^Amount/ }), '1.234,56');
  await userEvent.type(within(dialog).getByRole('textbox', { name: /^Third party/ }), 'Roastery');
  return dialog;
}

beforeEach(() => {
  signIn();
  localStorage.setItem('wildcat.lastCurrency', 'DKK');
});

describe('CreatePaymentModal', () => {
  it('creates one payment on a double click and shows it using the consistency token', async () => {
    const { fetch, calls, posts } = setup([ok]);
    renderApp(`/payments?customer_id=${SHOP.id}`, fetch);
    expect(await screen.findByText('No payments match these filters.')).toBeInTheDocument();
    const dialog = await fillForm();
    const submit = within(dialog).getByRole('button', { name: 'Create payment' });
    await userEvent.dblClick(submit);
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'New payment' })).not.toBeInTheDocument());
    expect(posts()).toHaveLength(1);
    const post = posts()[0]!;
    expect(post.body).toEqual({ customer_id: SHOP.id, amount: 123456, currency: 'DKK', third_party: 'Roastery' });
    expect(post.headers.get('Idempotency-Key')).toMatch(/^[0-9a-f-]{36}$/);

    const row = await screen.findByTestId('payment-row');
    expect(row).toHaveTextContent('Roastery');
    expect(await screen.findByText('Payment created and shown in the list.')).toBeInTheDocument();
    const reads = calls.filter((c) => c.url.pathname === '/api/query/v1/payments');
    expect(reads.at(-1)!.url.searchParams.get('consistency_token')).toBe('ct-42');
  });

  it('retries with the same key after a network failure', async () => {
    const { fetch, posts } = setup([ok]);
    // The request reaches the server but the answer is lost: the retry must reuse the key.
    let dropNextAnswer = true;
    const flaky: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && dropNextAnswer) {
        dropNextAnswer = false;
        throw new TypeError('Failed to fetch');
      }
      return res;
    };
    renderApp(`/payments?customer_id=${SHOP.id}`, flaky);
    const dialog = await fillForm();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('The server could not be reached');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    await waitFor(() => expect(posts()).toHaveLength(2));
    expect(posts()[1]!.headers.get('Idempotency-Key')).toBe(posts()[0]!.headers.get('Idempotency-Key'));
  });

  it('shows validation problems from the API on the fields and uses a new key after changes', async () => {
    const problem: Reply = {
      status: 400,
      body: { title: 'Bad Request', status: 400, code: 'invalid', errors: [{ field: 'third_party', message: 'is blocked' }] },
    };
    const { fetch, posts } = setup([problem, ok]);
    renderApp(`/payments?customer_id=${SHOP.id}`, fetch);
    const dialog = await fillForm();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    expect(await within(dialog).findAllByText('is blocked')).not.toHaveLength(0);
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^Third party/ }), ' Ltd');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    await waitFor(() => expect(posts()).toHaveLength(2));
    expect(posts()[1]!.headers.get('Idempotency-Key')).not.toBe(posts()[0]!.headers.get('Idempotency-Key'));
  });

  it('shows a 422 date_in_future on the date field, opening More options', async () => {
    const problem: Reply = {
      status: 422,
      body: {
        type: 'about:blank',
        title: 'Unprocessable Entity',
        status: 422,
        code: 'date_in_future',
        detail: 'date: must not be more than 24h0m0s in the future; nothing was written.',
        errors: [{ field: 'date', message: 'must not be more than 24h0m0s in the future' }],
      },
    };
    const { fetch } = setup([problem]);
    renderApp(`/payments?customer_id=${SHOP.id}`, fetch);
    const dialog = await fillForm();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    const fieldMessage = 'The date is too far in the future: a payment can be dated at most 24 hours ahead.';
    expect(await within(dialog).findByRole('alert', { name: /Unprocessable/ })).toHaveTextContent('The payment date is too far in the future');
    expect(within(dialog).getByRole('button', { name: 'More options' })).toHaveAttribute('aria-expanded', 'true');
    // More options opens with a transition: on a busy machine the field becomes accessible a moment later.
    const date = await within(dialog).findByRole('button', { name: /^Date/ }, { timeout: 5000 });
    await waitFor(() => expect(date).toHaveAccessibleDescription(expect.stringContaining(fieldMessage)));
  });

  it('validates amounts against the currency precision before sending', async () => {
    const { fetch, posts } = setup([]);
    renderApp(`/payments?customer_id=${SHOP.id}`, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'New payment' }));
    const dialog = await screen.findByRole('dialog', { name: 'New payment' });
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^Amount/ }), '12,3456');
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^Third party/ }), 'X');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create payment' }));
    expect(await within(dialog).findByText('DKK has at most 2 decimals')).toBeInTheDocument();
    expect(posts()).toHaveLength(0);
  });
});
