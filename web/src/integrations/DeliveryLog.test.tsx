import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WebhookDelivery } from '../api/types';
import { fakeFetch, type Call } from '../test/http';
import { delivery, endpoint, SHOP } from '../test/integrations';
import { renderApp, signIn } from '../test/render';

const EP = endpoint({ consecutive_failures: 2 });
const PAGE = `/customers/${SHOP.id}/webhooks/${EP.id}`;
const BASE = `/api/command/v1/customers/${SHOP.id}/webhook-endpoints/${EP.id}`;

const FAILED = delivery({
  id: 'd2',
  event_id: 'f0000000-0000-4000-8000-000000000002',
  event_type: 'payment.failed',
  status: 'failed',
  attempts: 2,
  delivered_at: null,
  next_attempt_at: '2026-11-25T11:00:00Z',
  responses: [
    { attempt: 1, started_at: '2026-11-25T10:00:00Z', duration_ms: 10_000, status_code: null, error: 'timeout after 10s', response_body: '' },
    { attempt: 2, started_at: '2026-11-25T10:01:00Z', duration_ms: 35, status_code: 500, error: null, response_body: '{"error":"boom"}' },
  ],
});

beforeEach(() => {
  signIn();
});

const original = Object.getOwnPropertyDescriptor(window, 'matchMedia');

afterEach(() => {
  if (original) Object.defineProperty(window, 'matchMedia', original);
});

/** asPhone makes every max-width media query match, as on a 375 px screen. */
function asPhone() {
  Object.defineProperty(window, 'matchMedia', {
    configurable: true,
    writable: true,
    value: (query: string): Pick<MediaQueryList, 'matches' | 'media' | 'addEventListener' | 'removeEventListener'> => ({
      matches: query.includes('max-width'),
      media: query,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    }),
  });
}

/** backend serves two pages: FAILED, then (after its next_cursor) the older delivered one. */
function backend(onRedeliver?: (c: Call) => WebhookDelivery) {
  return fakeFetch([
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
    ['GET', BASE, { body: EP }],
    [
      'GET',
      `${BASE}/deliveries`,
      (c: Call) =>
        c.url.searchParams.get('cursor') === 'page-2'
          ? { body: { data: [delivery()], next_cursor: null } }
          : { body: { data: [FAILED], next_cursor: 'page-2' } },
    ],
    [
      'POST',
      new RegExp(`^${BASE}/deliveries/[^/]+/redeliver$`),
      (c: Call) => ({ status: 202, body: onRedeliver ? onRedeliver(c) : { ...FAILED, status: 'pending' } }),
    ],
  ]);
}

describe('DeliveryLog', () => {
  it('shows the endpoint and its deliveries, a page at a time', async () => {
    const { fetch, calls } = backend();
    renderApp(PAGE, fetch);
    expect(await screen.findByRole('heading', { level: 1, name: EP.url })).toBeInTheDocument();
    expect(screen.getByTestId('endpoint-failures')).toHaveTextContent('Consecutive failed attempts: 2');

    const table = await screen.findByRole('table', { name: 'Deliveries' });
    let rows = within(table).getAllByTestId('delivery-row');
    expect(rows).toHaveLength(1);
    const cells = within(rows[0]!).getAllByRole('cell').map((c) => c.textContent);
    expect(cells.slice(1, 5)).toEqual(['payment.failed', 'f0000000…', 'Failed', '2']);
    expect(cells[6]).toMatch(/^Next attempt 25 Nov 2026/);
    expect(calls.find((c) => c.url.pathname === `${BASE}/deliveries`)!.url.searchParams.get('limit')).toBe('25');

    await userEvent.click(screen.getByRole('button', { name: 'Load more' }));
    await waitFor(() => expect(within(table).getAllByTestId('delivery-row')).toHaveLength(2));
    rows = within(table).getAllByTestId('delivery-row');
    expect(within(rows[1]!).getByTestId('delivery-status')).toHaveTextContent('Delivered');
    expect(within(rows[1]!).getAllByRole('cell')[6]).toHaveTextContent(/^Delivered 25 Nov 2026/);
    expect(calls.filter((c) => c.url.pathname === `${BASE}/deliveries`).at(-1)!.url.searchParams.get('cursor')).toBe('page-2');
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
  });

  it('opens a delivery to show every attempt and what came back', async () => {
    const { fetch } = backend();
    renderApp(PAGE, fetch);
    const toggle = await screen.findByRole('button', { name: 'Show attempts of payment.failed f0000000…' });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByTestId('delivery-details')).not.toBeInTheDocument();
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(toggle).toHaveAccessibleName('Hide attempts of payment.failed f0000000…');
    const details = screen.getByTestId('delivery-details');
    expect(document.getElementById(toggle.getAttribute('aria-controls')!)).toContainElement(details);

    const [first, second] = within(details).getAllByTestId('delivery-response');
    expect(first).toHaveTextContent('Attempt 1');
    expect(first).toHaveTextContent('10000 ms');
    expect(first).toHaveTextContent('No response');
    expect(first).toHaveTextContent('Error: timeout after 10s');
    expect(first!.querySelector('pre')).toHaveTextContent('(empty)');
    expect(second).toHaveTextContent('HTTP 500');
    expect(second!.querySelector('pre')).toHaveTextContent('{"error":"boom"}');
    expect(within(details).getByText(/"type": "payment.succeeded"/)).toBeInTheDocument();

    await userEvent.click(toggle);
    expect(screen.queryByTestId('delivery-details')).not.toBeInTheDocument();
  });

  it('redelivers a delivery and reads the log again', async () => {
    let reads = 0;
    const { fetch, calls } = backend((c) => ({ ...FAILED, id: c.url.pathname.split('/').at(-2)!, status: 'pending' }));
    const counting: typeof globalThis.fetch = (input, init) => {
      if (typeof input === 'string' && input.includes('/deliveries?')) reads++;
      return fetch(input, init);
    };
    renderApp(PAGE, counting);
    await userEvent.click(await screen.findByRole('button', { name: 'Redeliver payment.failed f0000000…' }));
    expect(await screen.findByText('Delivery queued again')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')!.url.pathname).toBe(`${BASE}/deliveries/d2/redeliver`);
    await waitFor(() => expect(reads).toBeGreaterThanOrEqual(2));
  });

  it('says when nothing has been sent yet', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
      ['GET', BASE, { body: EP }],
      ['GET', `${BASE}/deliveries`, { body: { data: [], next_cursor: null } }],
    ]);
    renderApp(PAGE, fetch);
    expect(await screen.findByText('Nothing has been sent to this endpoint yet.')).toBeInTheDocument();
  });

  it('shows an unknown endpoint as a problem', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
      ['GET', BASE, { status: 404, body: { title: 'Not Found', status: 404, code: 'webhook_endpoint_not_found', detail: 'webhook endpoint not found' } }],
    ]);
    renderApp(PAGE, fetch);
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load the webhook endpoint');
    expect(screen.getByRole('alert')).toHaveTextContent('webhook endpoint not found');
  });

  it('lists deliveries as cards on a phone', async () => {
    asPhone();
    const { fetch } = backend();
    renderApp(PAGE, fetch);
    const list = await screen.findByRole('list', { name: 'Deliveries' });
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
    const card = within(list).getByTestId('delivery-card');
    expect(card).toHaveTextContent('payment.failed');
    expect(card).toHaveTextContent(FAILED.event_id);
    const toggle = within(card).getByRole('button', { name: 'Attempts (2)' });
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    expect(within(card).getAllByTestId('delivery-response')).toHaveLength(2);
    expect(within(card).getByRole('button', { name: 'Redeliver payment.failed f0000000…' })).toBeInTheDocument();
  });
});
