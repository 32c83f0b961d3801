import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CustomerWithUsers } from '../api/types';
import { fakeFetch, type Call } from '../test/http';
import { renderApp, signIn, TEST_USER } from '../test/render';

const BOB = { id: '00000000-0000-4000-8000-000000000002', name: 'Bob Builder', email: 'bob@example.com' };
const ME = { id: TEST_USER.id, name: TEST_USER.name, email: TEST_USER.email };

beforeEach(() => {
  signIn();
});

function backend(initial: CustomerWithUsers[]) {
  let customers = initial;
  const { fetch, calls } = fakeFetch([
    ['GET', '/api/query/v1/customers', () => ({ body: { data: customers } })],
    [
      'POST',
      '/api/command/v1/customers',
      (c: Call) => {
        const b = c.body as { name: string; email?: string };
        const created = { id: '99999999-9999-4999-8999-999999999999', name: b.name, email: b.email ?? null };
        customers = [...customers, { ...created, users: [ME] }];
        return { status: 201, body: { ...created, created_at: '', updated_at: '' }, headers: { 'X-Consistency-Token': 'ct-c1' } };
      },
    ],
    [
      'PATCH',
      /^\/api\/command\/v1\/customers\/[^/]+$/,
      (c: Call) => {
        const b = c.body as { name: string };
        customers = customers.map((x) => (c.url.pathname.endsWith(x.id) ? { ...x, name: b.name } : x));
        return { body: {}, headers: { 'X-Consistency-Token': 'ct-c2' } };
      },
    ],
    [
      'POST',
      /^\/api\/command\/v1\/customers\/[^/]+\/users$/,
      (c: Call) => {
        const { email } = c.body as { email: string };
        if (email !== BOB.email) return { status: 404, body: { title: 'Not Found', status: 404, code: 'user_not_found' } };
        customers = customers.map((x) => (c.url.pathname.includes(x.id) ? { ...x, users: [...x.users, BOB] } : x));
        return { status: 204, headers: { 'X-Consistency-Token': 'ct-c3' } };
      },
    ],
    [
      'DELETE',
      /^\/api\/command\/v1\/customers\/[^/]+\/users\/[^/]+$/,
      (c: Call) => {
        const userId = c.url.pathname.split('/').at(-1);
        customers = customers.map((x) => ({ ...x, users: x.users.filter((u) => u.id !== userId) }));
        return { status: 204, headers: { 'X-Consistency-Token': 'ct-c4' } };
      },
    ],
  ]);
  return { fetch, calls };
}

describe('CustomersPage', () => {
  it('creates a customer and lists it using the consistency token', async () => {
    const { fetch, calls } = backend([]);
    renderApp('/customers', fetch);
    expect(await screen.findByText('No customers yet. Create the first one.')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'New customer' }));
    const dialog = await screen.findByRole('dialog', { name: 'New customer' });
    await userEvent.type(within(dialog).getByRole('textbox', { name: /^Name/ }), 'Nordic Coffee');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Create customer' }));
    expect(await screen.findByRole('heading', { name: 'Nordic Coffee' })).toBeInTheDocument();
    const post = calls.find((c) => c.method === 'POST')!;
    expect(post.body).toEqual({ name: 'Nordic Coffee' });
    const reads = calls.filter((c) => c.url.pathname === '/api/query/v1/customers');
    expect(reads.at(-1)!.url.searchParams.get('consistency_token')).toBe('ct-c1');
  });

  it('renames a customer', async () => {
    const { fetch, calls } = backend([{ id: 'c1', name: 'Old Name', email: null, users: [ME] }]);
    renderApp('/customers', fetch);
    await userEvent.click(await screen.findByRole('button', { name: 'Edit: Old Name' }));
    const dialog = await screen.findByRole('dialog', { name: 'Edit customer' });
    const name = within(dialog).getByRole('textbox', { name: /^Name/ });
    await userEvent.clear(name);
    await userEvent.type(name, 'New Name');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    expect(await screen.findByRole('heading', { name: 'New Name' })).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PATCH')!.body).toEqual({ name: 'New Name', email: null });
  });

  it('gives access by email, explains unknown emails, and removes access', async () => {
    const { fetch } = backend([{ id: 'c1', name: 'Shop', email: null, users: [ME] }]);
    renderApp('/customers', fetch);
    const card = await screen.findByRole('region', { name: 'Shop' });
    // The last person cannot be removed.
    expect(within(card).getByRole('button', { name: `Remove ${ME.name} from Shop` })).toBeDisabled();

    await userEvent.type(within(card).getByRole('textbox', { name: /Email of a registered user/ }), 'nobody@example.com');
    await userEvent.click(within(card).getByRole('button', { name: 'Add' }));
    expect(await within(card).findByText(/No user with that email/)).toBeInTheDocument();

    await userEvent.clear(within(card).getByRole('textbox', { name: /Email of a registered user/ }));
    await userEvent.type(within(card).getByRole('textbox', { name: /Email of a registered user/ }), BOB.email);
    await userEvent.click(within(card).getByRole('button', { name: 'Add' }));
    expect(await within(card).findByText(BOB.name)).toBeInTheDocument();

    await userEvent.click(within(card).getByRole('button', { name: `Remove ${BOB.name} from Shop` }));
    const dialog = await screen.findByRole('dialog', { name: 'Remove access?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(within(card).queryByText(BOB.name)).not.toBeInTheDocument());
  });
});
