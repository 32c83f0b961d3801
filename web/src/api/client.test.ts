import { describe, expect, it, vi } from 'vitest';
import { fakeFetch } from '../test/http';
import { ApiClient, filenameFrom } from './client';
import { ApiError } from './problem';

function client(routes: Parameters<typeof fakeFetch>[0], token: string | null = 'tok') {
  const f = fakeFetch(routes);
  const onUnauthorized = vi.fn();
  const api = new ApiClient({ getToken: () => token, onUnauthorized, fetch: f.fetch });
  return { api, calls: f.calls, onUnauthorized };
}

describe('ApiClient', () => {
  it('routes commands and queries through the web origin prefixes with the bearer token', async () => {
    const { api, calls } = client([
      ['GET', '/api/query/v1/payments', { body: { data: [], next_cursor: null, has_more: false, total: 0, total_relation: 'eq' } }],
      ['GET', '/api/command/v1/me', { body: { id: 'u', email: 'e', name: 'n', created_at: '' } }],
    ]);
    await api.searchPayments(new URLSearchParams('limit=5&status=pending&status=failed'));
    await api.me();
    expect(calls[0]!.url.pathname).toBe('/api/query/v1/payments');
    expect(calls[0]!.url.searchParams.getAll('status')).toEqual(['pending', 'failed']);
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer tok');
    expect(calls[1]!.url.pathname).toBe('/api/command/v1/me');
  });

  it('sends the Idempotency-Key and returns the consistency token', async () => {
    const payment = { id: 'p1', amount: 1250, status: 'pending', failure_code: null, failure_message: null, attempts: 0, processed_at: null, amount_refunded: 0 };
    const { api, calls } = client([
      ['POST', '/api/command/v1/payments', { status: 201, body: payment, headers: { 'X-Consistency-Token': 'ct-1' } }],
    ]);
    const res = await api.createPayment({ customer_id: 'c', amount: 1250, currency: 'DKK', third_party: 'x' }, 'key-1');
    expect(res).toEqual({ value: payment, consistencyToken: 'ct-1' });
    expect(calls[0]!.headers.get('Idempotency-Key')).toBe('key-1');
    expect(calls[0]!.headers.get('Content-Type')).toBe('application/json');
    expect(calls[0]!.body).toEqual({ customer_id: 'c', amount: 1250, currency: 'DKK', third_party: 'x' });
  });

  it('reaches a customer\'s keys, endpoints and deliveries on the command API', async () => {
    const base = '/api/command/v1/customers/c%2F1';
    const { api, calls } = client([
      ['GET', `${base}/api-keys`, { body: { data: [] } }],
      ['DELETE', `${base}/api-keys/k1`, { status: 204 }],
      ['PATCH', `${base}/webhook-endpoints/e1`, { body: { id: 'e1' } }],
      ['GET', `${base}/webhook-endpoints/e1/deliveries`, { body: { data: [], next_cursor: null } }],
      ['POST', `${base}/webhook-endpoints/e1/deliveries/d1/redeliver`, { status: 202, body: { id: 'd1' } }],
    ]);
    expect(await api.listApiKeys('c/1')).toEqual([]);
    await api.revokeApiKey('c/1', 'k1');
    expect(await api.updateWebhookEndpoint('c/1', 'e1', { enabled: true })).toEqual({ id: 'e1' });
    await api.webhookDeliveries('c/1', 'e1', { limit: 25, cursor: 'abc' });
    await api.webhookDeliveries('c/1', 'e1', { cursor: null });
    expect(await api.redeliverWebhook('c/1', 'e1', 'd1')).toEqual({ id: 'd1' });
    expect(calls.map((c) => `${c.method} ${c.url.pathname}${c.url.search}`)).toEqual([
      `GET ${base}/api-keys`,
      `DELETE ${base}/api-keys/k1`,
      `PATCH ${base}/webhook-endpoints/e1`,
      `GET ${base}/webhook-endpoints/e1/deliveries?limit=25&cursor=abc`,
      `GET ${base}/webhook-endpoints/e1/deliveries`,
      `POST ${base}/webhook-endpoints/e1/deliveries/d1/redeliver`,
    ]);
    expect(calls[2]!.body).toEqual({ enabled: true });
    expect(calls.every((c) => c.headers.get('Authorization') === 'Bearer tok')).toBe(true);
  });

  it('throws problem+json as ApiError with field errors', async () => {
    const problem = {
      type: 'https://wildcat/validation',
      title: 'Bad Request',
      status: 400,
      detail: 'The request has invalid fields.',
      code: 'invalid',
      errors: [
        { field: 'amount', message: 'must be greater than 0' },
        { field: 'currency', message: 'unknown currency' },
      ],
    };
    const { api } = client([['POST', '/api/command/v1/customers', { status: 400, body: problem }]]);
    const err = await api.createCustomer({ name: '' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid');
    expect(e.message).toBe('The request has invalid fields.');
    expect(e.fieldErrors()).toEqual({ amount: 'must be greater than 0', currency: 'unknown currency' });
  });

  it('copes with non-JSON error bodies', async () => {
    const { api } = client([['GET', '/api/query/v1/customers', { status: 502, body: 'Bad Gateway', headers: { 'Content-Type': 'text/plain' } }]]);
    const e = (await api.listCustomers().catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(502);
    expect(e.problem.detail).toBe('Bad Gateway');
    expect(e.code).toBe('http_502');
  });

  it('reports network failures as status 0', async () => {
    const api = new ApiClient({ getToken: () => null, fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    const e = (await api.listCustomers().catch((x: unknown) => x)) as ApiError;
    expect(e.status).toBe(0);
    expect(e.code).toBe('network');
  });

  it('calls onUnauthorized on a 401 of an authenticated request only', async () => {
    const unauthorized = { status: 401, body: { title: 'Unauthorized', status: 401, code: 'unauthorized' } };
    const { api, onUnauthorized } = client([
      ['GET', '/api/query/v1/payments', unauthorized],
      ['POST', '/api/command/v1/auth/token', unauthorized],
    ]);
    await expect(api.token({ email: 'a@b.c', password: 'x' })).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).not.toHaveBeenCalled();
    await expect(api.searchPayments(new URLSearchParams())).rejects.toBeInstanceOf(ApiError);
    expect(onUnauthorized).toHaveBeenCalledTimes(1);
  });

  it('does not send a token with sign-up and login', async () => {
    const { api, calls } = client([['POST', '/api/command/v1/users', { status: 201, body: { id: 'u' } }]]);
    await api.signUp({ email: 'a@b.c', password: 'x'.repeat(12), name: 'A' });
    expect(calls[0]!.headers.has('Authorization')).toBe(false);
  });

  it('downloads CSV with the Authorization header and the server file name', async () => {
    const { api, calls } = client([
      [
        'GET',
        '/api/query/v1/payments/export.csv',
        { body: 'id,amount\np1,1250\n', headers: { 'Content-Type': 'text/csv', 'Content-Disposition': 'attachment; filename="payments.csv"' } },
      ],
    ]);
    const { blob, filename } = await api.exportCsv(new URLSearchParams('currency=DKK'));
    expect(await blob.text()).toBe('id,amount\np1,1250\n');
    expect(filename).toBe('payments.csv');
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer tok');
    expect(calls[0]!.url.search).toBe('?currency=DKK');
  });

  it('cancels, retries and refunds through the command API with the consistency token', async () => {
    const paid = { id: 'p1', amount: 100, status: 'pending' };
    const { api, calls } = client([
      ['POST', '/api/command/v1/payments/p1/cancel', { body: { ...paid, status: 'canceled' }, headers: { 'X-Consistency-Token': 'ct-c' } }],
      ['POST', '/api/command/v1/payments/p1/retry', { body: paid, headers: { 'X-Consistency-Token': 'ct-r' } }],
      ['POST', '/api/command/v1/payments/p1/refunds', { status: 201, body: { id: 'r1', amount: 40 }, headers: { 'X-Consistency-Token': 'ct-f' } }],
    ]);
    const canceled = await api.cancelPayment('p1');
    expect([canceled.value.status, canceled.consistencyToken]).toEqual(['canceled', 'ct-c']);
    expect((await api.retryPayment('p1')).consistencyToken).toBe('ct-r');
    const refund = await api.refundPayment('p1', { amount: 40, reason: 'broken' }, 'key-r');
    expect(refund).toEqual({ value: { id: 'r1', amount: 40 }, consistencyToken: 'ct-f' });
    expect(calls[2]!.headers.get('Idempotency-Key')).toBe('key-r');
    expect(calls[2]!.body).toEqual({ amount: 40, reason: 'broken' });
  });

  it('reads events and a payment with the consistency token, and dead letters from the command API', async () => {
    const { api, calls } = client([
      ['GET', '/api/query/v1/payments/p1/events', { body: { data: [{ id: 1, payment_id: 'p1', type: 'payment.created', data: {}, created_at: 'x' }] } }],
      ['GET', '/api/query/v1/payments/p1', { body: { id: 'p1' } }],
      ['GET', '/api/command/v1/dead-letters', { body: { data: [{ id: 'p2', status: 'failed', failure_code: 'retries_exhausted', attempts: 8 }], next_cursor: null, has_more: false } }],
    ]);
    expect(await api.paymentEvents('p1', 'ct-1')).toHaveLength(1);
    await api.getPayment('p1', 'ct-2');
    const page = await api.deadLetters(new URLSearchParams('customer_id=c1&customer_id=c2'));
    expect(page.data[0]).toMatchObject({ id: 'p2', failure_code: 'retries_exhausted', attempts: 8 });
    expect(calls.map((c) => c.url.searchParams.get('consistency_token'))).toEqual(['ct-1', 'ct-2', null]);
    expect(calls[2]!.url.searchParams.getAll('customer_id')).toEqual(['c1', 'c2']);
  });

  it('passes the consistency token to the customers list', async () => {
    const { api, calls } = client([['GET', '/api/query/v1/customers', { body: { data: [] } }]]);
    expect(await api.listCustomers('ct-9')).toEqual([]);
    expect(calls[0]!.url.searchParams.get('consistency_token')).toBe('ct-9');
  });
});

describe('filenameFrom', () => {
  it.each([
    ['attachment; filename="a.csv"', 'a.csv'],
    ['attachment; filename=b.csv', 'b.csv'],
    ["attachment; filename*=UTF-8''bet%C3%A6linger.csv", 'betælinger.csv'],
  ])('%s', (h, want) => {
    expect(filenameFrom(h)).toBe(want);
  });
  it('falls back to a dated name', () => {
    expect(filenameFrom(null)).toMatch(/^payments-\d{4}-\d{2}-\d{2}\.csv$/);
  });
});
