import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ApiKey, CreatedApiKey, NewApiKey } from '../api/types';
import { fakeFetch, type Call } from '../test/http';
import { apiKey, SHOP } from '../test/integrations';
import { renderApp, signIn } from '../test/render';

const PAGE = `/customers/${SHOP.id}/integrations`;
const KEYS = `/api/command/v1/customers/${SHOP.id}/api-keys`;
const SECRET = 'wc_NewKeySecret0123456789abcdefghijABCDEFGHIJ0123';

beforeEach(() => {
  signIn();
});

function backend(initial: ApiKey[]) {
  let keys = initial;
  return fakeFetch([
    ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
    ['GET', KEYS, () => ({ body: { data: keys } })],
    ['GET', `/api/command/v1/customers/${SHOP.id}/webhook-endpoints`, { body: { data: [] } }],
    [
      'POST',
      KEYS,
      (c: Call) => {
        const b = c.body as NewApiKey;
        const listed = apiKey({ id: 'a-new', name: b.name, scopes: b.scopes, prefix: SECRET.slice(0, 12) });
        const created: CreatedApiKey = { ...listed, secret: SECRET };
        keys = [listed, ...keys];
        return { status: 201, body: created };
      },
    ],
    [
      'DELETE',
      new RegExp(`^${KEYS}/[^/]+$`),
      (c: Call) => {
        const id = c.url.pathname.split('/').at(-1);
        keys = keys.map((k) => (k.id === id ? { ...k, revoked_at: '2026-11-26T08:00:00Z' } : k));
        return { status: 204 };
      },
    ],
  ]);
}

describe('ApiKeysSection', () => {
  it('lists keys with their prefix, scopes, last use and revoked state', async () => {
    const { fetch } = backend([
      apiKey({ last_used_at: '2026-11-25T12:00:00Z' }),
      apiKey({ id: 'a2', name: 'Old import', prefix: 'wc_OldOldOld', scopes: ['payments:read'], revoked_at: '2026-11-21T00:00:00Z' }),
    ]);
    renderApp(PAGE, fetch);
    const list = await screen.findByRole('list', { name: 'API keys' });
    const [live, old] = within(list).getAllByTestId('api-key');
    expect(within(live!).getByTestId('api-key-prefix')).toHaveTextContent('wc_AbCdEfGhI…');
    expect(within(live!).getByTestId('api-key-prefix')).toHaveClass('mono');
    expect(within(live!).getAllByRole('listitem').map((b) => b.textContent)).toEqual(['payments:read', 'payments:write']);
    expect(within(live!).getByTitle('Create payments, cancel, retry and refund')).toHaveTextContent('payments:write');
    expect(within(live!).getByTestId('api-key-state')).toHaveTextContent('Active');
    expect(within(live!).getByText(/Last used: 25 Nov 2026/)).toBeInTheDocument();
    expect(within(live!).getByRole('button', { name: 'Revoke API key Webshop' })).toBeInTheDocument();

    expect(within(old!).getByTestId('api-key-state')).toHaveTextContent('Revoked');
    expect(within(old!).getByText(/Last used: Never/)).toBeInTheDocument();
    expect(within(old!).queryByRole('button', { name: /Revoke/ })).not.toBeInTheDocument();
  });

  it('creates a key and shows its secret once, with a copy button and a warning', async () => {
    const user = userEvent.setup();
    const { fetch, calls } = backend([]);
    renderApp(PAGE, fetch);
    expect(await screen.findByText('No API keys yet.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'New API key' }));
    const dialog = await screen.findByRole('dialog', { name: 'New API key' });

    expect(within(dialog).getByText('Read payments')).toBeInTheDocument();
    // A name and at least one scope are required.
    await user.click(within(dialog).getByRole('checkbox', { name: /payments:read/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Create key' }));
    expect(within(dialog).getByText('Enter a name')).toBeInTheDocument();
    expect(within(dialog).getByText('Choose at least one scope')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(0);

    await user.type(within(dialog).getByRole('textbox', { name: /^Name/ }), '  Webshop  ');
    await user.click(within(dialog).getByRole('checkbox', { name: /payments:write/ }));
    await user.click(within(dialog).getByRole('checkbox', { name: /payments:read/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Create key' }));

    const shown = await screen.findByRole('dialog', { name: 'API key created' });
    expect(calls.find((c) => c.method === 'POST')!.body).toEqual({ name: 'Webshop', scopes: ['payments:read', 'payments:write'] });
    expect(within(shown).getByTestId('secret')).toHaveTextContent(SECRET);
    expect(within(shown).getByTestId('secret').tagName).toBe('PRE');
    expect(within(shown).getByText(/shown only once/)).toBeInTheDocument();
    await user.click(within(shown).getByRole('button', { name: 'Copy secret' }));
    expect(await navigator.clipboard.readText()).toBe(SECRET);
    expect(within(shown).getByRole('button', { name: 'Copied' })).toBeInTheDocument();

    await user.click(within(shown).getByRole('button', { name: 'I have copied it' }));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'API key created' })).not.toBeInTheDocument());
    // Gone for good: the list shows the prefix, never the secret.
    const item = await screen.findByRole('article', { name: 'Webshop' });
    expect(within(item).getByTestId('api-key-prefix')).toHaveTextContent(`${SECRET.slice(0, 12)}…`);
    expect(screen.queryByText(SECRET)).not.toBeInTheDocument();
  });

  it('shows the field errors of a refused key', async () => {
    const { fetch } = fakeFetch([
      ['GET', '/api/query/v1/customers', { body: { data: [SHOP] } }],
      ['GET', KEYS, { body: { data: [] } }],
      ['GET', `/api/command/v1/customers/${SHOP.id}/webhook-endpoints`, { body: { data: [] } }],
      ['POST', KEYS, { status: 422, body: { title: 'Invalid', status: 422, code: 'invalid', errors: [{ field: 'name', message: 'too long' }] } }],
    ]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'New API key' }));
    const dialog = await screen.findByRole('dialog', { name: 'New API key' });
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^Name/ }), 'x');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create key' }));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('name: too long');
    expect(screen.queryByRole('dialog', { name: 'API key created' })).not.toBeInTheDocument();
  });

  it('revokes a key after a confirmation', async () => {
    const { fetch, calls } = backend([apiKey()]);
    renderApp(PAGE, fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Revoke API key Webshop' }));
    const dialog = await screen.findByRole('dialog', { name: 'Revoke API key?' });
    expect(dialog).toHaveTextContent('"Webshop" (wc_AbCdEfGhI…)');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(0);

    await userEvent.click(screen.getByRole('button', { name: 'Revoke API key Webshop' }));
    await userEvent.click(within(await screen.findByRole('dialog', { name: 'Revoke API key?' })).getByRole('button', { name: 'Revoke key' }));
    await waitFor(() => expect(screen.getByTestId('api-key-state')).toHaveTextContent('Revoked'));
    expect(calls.find((c) => c.method === 'DELETE')!.url.pathname).toBe(`${KEYS}/${apiKey().id}`);
  });

  it('offers nothing for a customer the user is not linked to', async () => {
    const { fetch, calls } = backend([apiKey()]);
    renderApp('/customers/22222222-2222-4222-8222-222222222222/integrations', fetch);
    expect(await screen.findByText('No customer with this id is shared with you.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'New API key' })).not.toBeInTheDocument();
    expect(calls.some((c) => c.url.pathname.includes('/api-keys'))).toBe(false);
  });

  it('is reached from the customer card', async () => {
    const { fetch } = backend([]);
    renderApp('/customers', fetch);
    await userEvent.click(await screen.findByRole('link', { name: 'API keys and webhooks of Nordic Coffee' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'API keys and webhooks' })).toBeInTheDocument();
    expect(screen.getByText(/payments of Nordic Coffee/)).toBeInTheDocument();
  });
});
