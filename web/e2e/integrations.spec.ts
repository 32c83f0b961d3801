import { expect, test, type APIRequestContext } from '@playwright/test';
import type { CreatedPayment, NewPayment, Payment } from '../src/api/types';
import { Api, expectNoSeriousViolations, logIn, newUser, runId } from './support';

// Issue 16: a customer's API keys and webhooks. A key is created and its secret shown once, used
// to create a payment (which the payments list says an API key executed), and revoked; a webhook
// endpoint is created, receives that payment's events in its delivery log, is disabled and deleted.

/** keyStatus is the status the query API answers a request made with an API key. */
async function keyStatus(request: APIRequestContext, secret: string): Promise<number> {
  const res = await request.get('/api/query/v1/payments?limit=1', { headers: { Authorization: `Bearer ${secret}` } });
  return res.status();
}

test('API keys and webhooks: create, use, see deliveries, revoke', async ({ page, request }) => {
  const api = new Api(request);
  const owner = newUser('integrations');
  await api.signUp(owner);
  const token = await api.token(owner);
  const shopName = `E2E Integrations Shop ${runId}`;
  const shop = await api.createCustomer(token, shopName);
  await api.waitFor(token, shop.consistency);

  await logIn(page, owner);
  await page.getByRole('link', { name: 'Customers' }).first().click();
  await page.getByRole('link', { name: `API keys and webhooks of ${shopName}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'API keys and webhooks' })).toBeVisible();
  await expect(page.getByText('No API keys yet.')).toBeVisible();

  // A key: its secret is shown once, with a copy button; afterwards only its prefix.
  const keyName = `E2E key ${runId}`;
  await page.getByRole('button', { name: 'New API key' }).click();
  const create = page.getByRole('dialog', { name: 'New API key' });
  await create.getByLabel('Name').fill(keyName);
  await create.getByRole('checkbox', { name: /payments:write/ }).check();
  await create.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByRole('dialog', { name: 'API key created' });
  await expect(shown.getByText(/shown only once/)).toBeVisible();
  const secret = ((await shown.getByTestId('secret').textContent()) ?? '').trim();
  await expectNoSeriousViolations(page, 'API key secret dialog');
  expect(secret).toMatch(/^wc_[0-9A-Za-z]{43}$/);
  await expect(shown.getByRole('button', { name: 'Copy secret' })).toBeVisible();
  await shown.getByRole('button', { name: 'I have copied it' }).click();
  await expect(shown).toBeHidden();
  const key = page.getByRole('article', { name: keyName });
  await expect(key.getByTestId('api-key-prefix')).toHaveText(`${secret.slice(0, 12)}…`);
  await expect(key.getByTestId('api-key-state')).toHaveText('Active');
  await expect(key.getByText('payments:read', { exact: true })).toBeVisible();
  await expect(key.getByText('payments:write', { exact: true })).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);

  // A webhook endpoint for every event; its signing secret is shown once too.
  const url = `https://example.com/wildcat-e2e/${runId}`;
  await page.getByRole('button', { name: 'New endpoint' }).click();
  const newEndpoint = page.getByRole('dialog', { name: 'New webhook endpoint' });
  await newEndpoint.getByLabel('URL').fill(url);
  await newEndpoint.getByLabel('Description (optional)').fill('E2E receiver');
  await expect(newEndpoint.getByRole('checkbox', { name: 'All events' })).toBeChecked();
  await newEndpoint.getByRole('button', { name: 'Create endpoint' }).click();
  const signing = page.getByRole('dialog', { name: 'Webhook endpoint created' });
  expect(((await signing.getByTestId('secret').textContent()) ?? '').trim()).toMatch(/^whsec_[0-9A-Za-z]{43}$/);
  await signing.getByRole('button', { name: 'I have copied it' }).click();
  await expect(signing).toBeHidden();
  const endpoint = page.getByRole('article', { name: url });
  await expect(endpoint.getByTestId('endpoint-state')).toHaveText('Enabled');
  await expect(endpoint.getByText('E2E receiver')).toBeVisible();
  await expectNoSeriousViolations(page, 'API keys and webhooks');

  // The key creates a payment; the query API learns of the key through the projection.
  await expect.poll(() => keyStatus(request, secret), { timeout: 30_000 }).toBe(200);
  const body: NewPayment = { customer_id: shop.id, amount: 4200, currency: 'DKK', third_party: `Key Supplier ${runId}` };
  const res = await request.post('/api/command/v1/payments', {
    data: body,
    headers: { Authorization: `Bearer ${secret}`, 'Idempotency-Key': `e2e-key-${runId}` },
  });
  expect(res.status(), await res.text()).toBe(201);
  const paid = (await res.json()) as CreatedPayment;
  await api.waitFor(token, res.headers()['x-consistency-token'] ?? '');
  const doc = await request.get(`/api/query/v1/payments/${paid.id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(((await doc.json()) as Payment).executed_by).toMatchObject({ type: 'api_key', name: keyName });

  // The delivery log has the payment's events; a row opens to its attempts and payload.
  await endpoint.getByRole('link', { name: `Delivery log of ${url}` }).click();
  await expect(page.getByRole('heading', { level: 1, name: url })).toBeVisible();
  const created = page.getByTestId('delivery-row').filter({ hasText: 'payment.created' });
  await expect
    .poll(
      async () => {
        if ((await created.count()) > 0) return true;
        await page.getByRole('button', { name: 'Refresh' }).click();
        return false;
      },
      { timeout: 30_000, intervals: [500, 1000, 2000] },
    )
    .toBe(true);
  await created.first().getByRole('button', { name: /^Show attempts of payment\.created/ }).click();
  const details = page.getByTestId('delivery-details').first();
  await expect(details).toBeVisible();
  await expect(details.locator('pre').last()).toContainText(paid.id);
  await expect(created.first().getByRole('button', { name: /^Redeliver payment\.created/ })).toBeVisible();
  await expectNoSeriousViolations(page, 'delivery log');

  // On a 375 px phone the log is cards, and nothing scrolls sideways.
  await page.setViewportSize({ width: 375, height: 812 });
  await expect(page.getByTestId('delivery-card').filter({ hasText: 'payment.created' }).first()).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await page.setViewportSize({ width: 1366, height: 900 });

  // The payments list says the key executed it. (A fresh load: this tab's list, read at login, is
  // still fresh in its cache and knows nothing of a payment another client made.)
  await page.goto('/payments');
  const row = page.getByTestId('payment-row').filter({ hasText: `Key Supplier ${runId}` });
  await expect(row.getByTestId('executed-by')).toHaveText(`API key: ${keyName}`);

  // Revoking the key, after a confirmation, stops it working.
  await page.goto(`/customers/${shop.id}/integrations`);
  await page.getByRole('button', { name: `Revoke API key ${keyName}` }).click();
  const confirm = page.getByRole('dialog', { name: 'Revoke API key?' });
  await confirm.getByRole('button', { name: 'Revoke key' }).click();
  await expect(confirm).toBeHidden();
  await expect(page.getByRole('article', { name: keyName }).getByTestId('api-key-state')).toHaveText('Revoked');
  await expect.poll(() => keyStatus(request, secret), { timeout: 10_000 }).toBe(401);

  // The endpoint is disabled, enabled again and deleted.
  await page.getByRole('button', { name: `Disable endpoint ${url}` }).click();
  await expect(endpoint.getByTestId('endpoint-state')).toHaveText('Disabled');
  await page.getByRole('button', { name: `Enable endpoint ${url}` }).click();
  await expect(endpoint.getByTestId('endpoint-state')).toHaveText('Enabled');
  await page.getByRole('button', { name: `Delete endpoint ${url}` }).click();
  await page.getByRole('dialog', { name: 'Delete webhook endpoint?' }).getByRole('button', { name: 'Delete endpoint' }).click();
  await expect(page.getByText('No webhook endpoints yet.')).toBeVisible();
});
