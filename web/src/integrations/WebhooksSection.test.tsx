import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import { WEBHOOK_EVENT_TYPES, type NewWebhookEndpoint, type WebhookEndpoint, type WebhookEndpointPatch } from '../api/types';
import { fakeFetch, type Call } from '../test/http';
import { endpoint, SHOP } from '../test/integrations';
import { currentLocation, renderApp, signIn } from '../test/render';

const PAGE = `/customers/${SHOP.id}/integrations`;
const ENDPOINTS = `/api/command/v1/customers/${SHOP.id}/webhook-endpoints`;
const SECRET = 'whsec_abcdefghijABCDEFGHIJ0123456789abcdefghijK';

beforeEach(() => {
  signIn();
});

function backend(initial: WebhookEndpoint[]) {
  let endpoints = initial;
  const one = new RegExp(`^${ENDPOINTS}/([^/]+)$`);
  return fakeFetch([
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
    ['GET', `/api/command/v1/customers/${SHOP.id}/api-keys`, { body: { data: [] } }],
    ['GET', ENDPOINTS, () => ({ body: { data: endpoints } })],
    [
      'POST',
      ENDPOINTS,
      (c: Call) => {
        const b = c.body as NewWebhookEndpoint;
        const created = endpoint({ id: 'e-new', url: b.url, events: b.events, description: b.description ?? '' });
        endpoints = [...endpoints, created];
        return { status: 201, body: { ...created, secret: SECRET } };
      },
    ],
    [
      'PATCH',
      one,
      (c: Call) => {
        const b = c.body as WebhookEndpointPatch;
        const id = one.exec(c.url.pathname)![1];
        endpoints = endpoints.map((e) =>
          e.id === id ? { ...e, ...b, ...(b.enabled ? { disabled_reason: null, consecutive_failures: 0 } : {}) } : e,
        );
        return { body: endpoints.find((e) => e.id === id) };
      },
    ],
    [
      'DELETE',
      one,
      (c: Call) => {
        const id = one.exec(c.url.pathname)![1];
        endpoints = endpoints.filter((e) => e.id !== id);
        return { status: 204 };
      },
    ],
  ]);
}

describe('WebhooksSection', () => {
  it('lists endpoints with their events, state, reason and failures', async () => {
    const { fetch } = backend([
      endpoint(),
      endpoint({ id: 'e2', url: 'https://down.example.com/hook', enabled: false, disabled_reason: '15 consecutive failed attempts', consecutive_failures: 15 }),
    ]);
    renderApp(PAGE, fetch);
    const list = await screen.findByRole('list', { name: 'Webhook endpoints' });
    const [up, down] = within(list).getAllByTestId('webhook-endpoint');
    expect(within(up!).getByTestId('endpoint-url')).toHaveTextContent('https://hooks.example.com/wildcat');
    expect(within(up!).getByText('Order system')).toBeInTheDocument();
    expect(within(up!).getByTestId('endpoint-state')).toHaveTextContent('Enabled');
    expect(within(up!).getByRole('list', { name: 'Events' })).toHaveTextContent('payment.succeededpayment.failed');
    expect(within(up!).queryByTestId('endpoint-failures')).not.toBeInTheDocument();

    expect(within(down!).getByTestId('endpoint-state')).toHaveTextContent('Disabled');
    expect(within(down!).getByText('Disabled: 15 consecutive failed attempts')).toBeInTheDocument();
    expect(within(down!).getByTestId('endpoint-failures')).toHaveTextContent('Consecutive failed attempts: 15');
    expect(within(down!).getByRole('link', { name: 'Delivery log of https://down.example.com/hook' })).toHaveAttribute(
      'href',
      `/customers/${SHOP.id}/webhooks/e2`,
    );
  });

  it('creates an endpoint for the chosen events and shows its signing secret once', async () => {
    const user = userEvent.setup();
    const { fetch, calls } = backend([]);
    renderApp(PAGE, fetch);
    expect(await screen.findByText('No webhook endpoints yet.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'New endpoint' }));
    const dialog = await screen.findByRole('dialog', { name: 'New webhook endpoint' });

    // Every event is ticked to start with; "All events" clears them, and none is refused.
    expect(within(dialog).getByRole('checkbox', { name: 'payment.attempt_failed — Attempt failed' })).toBeChecked();
    const all = within(dialog).getByRole('checkbox', { name: 'All events' });
    expect(all).toBeChecked();
    expect(within(dialog).getAllByRole('checkbox', { checked: true })).toHaveLength(WEBHOOK_EVENT_TYPES.length + 1);
    await user.click(all);
    expect(within(dialog).queryAllByRole('checkbox', { checked: true })).toHaveLength(0);
    const url = within(dialog).getByRole('textbox', { name: /^URL/ });
    await user.clear(url);
    await user.type(url, 'ftp://nope');
    await user.click(within(dialog).getByRole('button', { name: 'Create endpoint' }));
    expect(within(dialog).getByText('Enter a full URL starting with https://')).toBeInTheDocument();
    expect(within(dialog).getByText('Choose at least one event')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0);

    await user.clear(url);
    await user.type(url, 'https://orders.example.com/hooks');
    await user.type(within(dialog).getByRole('textbox', { name: /^Description/ }), 'Orders');
    await user.click(within(dialog).getByRole('checkbox', { name: /refund\.failed/ }));
    await user.click(within(dialog).getByRole('checkbox', { name: /payment\.created/ }));
    expect(all).not.toBeChecked();
    expect(all).toHaveAttribute('data-indeterminate', 'true');
    await user.click(within(dialog).getByRole('button', { name: 'Create endpoint' }));

    const shown = await screen.findByRole('dialog', { name: 'Webhook endpoint created' });
    // In the contract's order, not the order they were ticked in.
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({
      url: 'https://orders.example.com/hooks',
      events: ['payment.created', 'refund.failed'],
      description: 'Orders',
    });
    expect(within(shown).getByTestId('secret')).toHaveTextContent(SECRET);
    expect(within(shown).getByText(/Wildcat-Signature/)).toBeInTheDocument();
    await user.click(within(shown).getByRole('button', { name: 'I have copied it' }));
    const item = await screen.findByRole('article', { name: 'https://orders.example.com/hooks' });
    expect(within(item).getByRole('list', { name: 'Events' })).toHaveTextContent('payment.createdrefund.failed');
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  });

  it('shows a refused URL on its field', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
      ['GET', `/api/command/v1/customers/${SHOP.id}/api-keys`, { body: { data: [] } }],
      ['GET', ENDPOINTS, { body: { data: [] } }],
      ['POST', ENDPOINTS, { status: 422, body: { title: 'Invalid', status: 422, code: 'invalid', errors: [{ field: 'url', message: 'must not be a private address' }] } }],
    ]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'New endpoint' }));
    const dialog = await screen.findByRole('dialog', { name: 'New webhook endpoint' });
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^URL/ }), '10.0.0.1/hook');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create endpoint' }));
    expect(await within(dialog).findAllByText(/must not be a private address/)).toHaveLength(2);
    expect(within(dialog).getByRole('textbox', { name: /^URL/ })).toHaveAttribute('aria-invalid', 'true');
  });

  it('edits the URL, description and events', async () => {
    const { fetch, calls } = backend([endpoint()]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Edit endpoint https://hooks.example.com/wildcat' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit webhook endpoint' });
    expect(within(dialog).getByRole('checkbox', { name: /payment\.succeeded/ })).toBeChecked();
    expect(within(dialog).getByRole('checkbox', { name: /payment\.created/ })).not.toBeChecked();
    const url = within(dialog).getByRole('textbox', { name: /^URL/ });
    await userEvent.clear(url);
    await userEvent.type(url, 'https://hooks.example.com/v2');
    await userEvent.click(within(dialog).getByRole('checkbox', { name: /payment\.failed/ }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await screen.findByRole('article', { name: 'https://hooks.example.com/v2' })).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({
      url: 'https://hooks.example.com/v2',
      description: 'Order system',
      events: ['payment.succeeded'],
    });
  });

  it('disables an endpoint and enables it again', async () => {
    const { fetch, calls } = backend([endpoint({ enabled: false, disabled_reason: 'too many failures', consecutive_failures: 3 })]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Enable endpoint https://hooks.example.com/wildcat' }));
    await waitFor(() => expect(screen.getByTestId('endpoint-state')).toHaveTextContent('Enabled'));
    expect(screen.queryByTestId('endpoint-failures')).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Disable endpoint https://hooks.example.com/wildcat' }));
    await waitFor(() => expect(screen.getByTestId('endpoint-state')).toHaveTextContent('Disabled'));
    expect(calls.filter((c) => c.method === 'PATCH').map((c) => c.body)).toEqual([{ enabled: true }, { enabled: false }]);
  });

  it('deletes an endpoint after a confirmation', async () => {
    const { fetch, calls } = backend([endpoint()]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete endpoint https://hooks.example.com/wildcat' }));
    const dialog = await screen.findByRole('dialog', { name: 'Delete webhook endpoint?' });
    expect(dialog).toHaveTextContent('its delivery log is deleted');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete endpoint' }));
    expect(await screen.findByText('No webhook endpoints yet.')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'DELETE')!.url.pathname).toBe(`${ENDPOINTS}/${endpoint().id}`);
  });

  it('opens the delivery log', async () => {
    const { fetch } = backend([endpoint()]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('link', { name: 'Delivery log of https://hooks.example.com/wildcat' }));
    // The delivery log is a lazy chunk: the navigation commits once it has loaded.
    await waitFor(() => expect(currentLocation()).toBe(`/customers/${SHOP.id}/webhooks/${endpoint().id}`));
  });
});
