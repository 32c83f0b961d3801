import { expect, test, type APIRequestContext } from '@playwright/test';
import type { CreatedPayment, NewPayment, Payment } from '../src/api/types';
import { Api, expectNoSeriousViolations, logIn, newUser, Receiver, runId, type ReceiverBehaviour } from './support';

// Issue 16: a customer's API keys and webhooks. A key is created and its secret shown once, used
// to create a payment (which the payments list says an API key executed), and revoked; a webhook
// endpoint is created on the stack's webhook receiver (WEBHOOK_RECEIVER), which is handed its
// signing secret and fails the first delivery of each event: the delivery log shows the failed
// attempt, the processor's retry that succeeds, and a redelivery the receiver gets with the same
// event id. The endpoint is then disabled and deleted.

// The receiver's behaviour is shared by whoever uses it; what it was before the test is put back.
let behaviourBefore: ReceiverBehaviour | null = null;
test.afterEach(async ({ request }) => {
  if (behaviourBefore) await new Receiver(request).setBehaviour(behaviourBefore);
  behaviourBefore = null;
});

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

  // The receiver answers the first delivery of each event 503 (so the processor has to retry),
  // later ones 200. Its counts are for every hook: this test reads the change in them, and its own
  // event's count.
  const receiver = new Receiver(request);
  behaviourBefore = await receiver.behaviour();
  const before = await receiver.received();
  await receiver.setBehaviour({ fail_first: 1, status: 503 });

  // A webhook endpoint for every event, on a hook of the receiver of its own; its signing secret is
  // shown once too, and handed to the receiver, which checks every delivery's signature with it.
  const hook = `e2e-integrations-${runId}-${Math.random().toString(36).slice(2, 8)}`;
  const url = receiver.hookUrl(hook);
  await page.getByRole('button', { name: 'New endpoint' }).click();
  const newEndpoint = page.getByRole('dialog', { name: 'New webhook endpoint' });
  await newEndpoint.getByLabel('URL').fill(url);
  await newEndpoint.getByLabel('Description (optional)').fill('E2E receiver');
  await expect(newEndpoint.getByRole('checkbox', { name: 'All events' })).toBeChecked();
  await newEndpoint.getByRole('button', { name: 'Create endpoint' }).click();
  const signing = page.getByRole('dialog', { name: 'Webhook endpoint created' });
  const signingSecret = ((await signing.getByTestId('secret').textContent()) ?? '').trim();
  expect(signingSecret).toMatch(/^whsec_[0-9A-Za-z]{43}$/);
  await receiver.addSecret(signingSecret);
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

  // The delivery log has the payment's events. payment.created's first attempt is answered 503;
  // the processor tries again after its backoff (WEBHOOK_RETRY_BASE, 10 s by default: 5–10 s with
  // jitter) and is answered 200. The log reads itself again every 5 s while a delivery is pending.
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
  await expect(created).toHaveCount(1);
  const deliveryId = (await created.getAttribute('data-delivery-id')) ?? '';
  const delivery = page.locator(`[data-testid="delivery-row"][data-delivery-id="${deliveryId}"]`);
  const eventId = (await delivery.getByRole('cell').nth(2).getAttribute('title')) ?? '';
  expect(eventId).not.toBe('');
  const progress = async () =>
    `${await delivery.getByTestId('delivery-status').getAttribute('data-status')} after ${((await delivery.getByRole('cell').nth(4).textContent()) ?? '').trim()} attempts`;
  await expect.poll(progress, { timeout: 60_000, intervals: [1000, 2000] }).toBe('succeeded after 2 attempts');

  // The row opens to both attempts: the 503 with the receiver's answer, then the 200; and the payload.
  await delivery.getByRole('button', { name: /^Show attempts of payment\.created/ }).click();
  const details = page.locator(`[id="delivery-${deliveryId}-details"]`).getByTestId('delivery-details');
  await expect(details).toBeVisible();
  const attempts = details.getByTestId('delivery-response');
  await expect(attempts).toHaveCount(2);
  await expect(attempts.nth(0)).toContainText('Attempt 1');
  await expect(attempts.nth(0)).toContainText('HTTP 503');
  await expect(attempts.nth(0)).toContainText('failing as told');
  await expect(attempts.nth(1)).toContainText('Attempt 2');
  await expect(attempts.nth(1)).toContainText('HTTP 200');
  await expect(details.locator('pre').last()).toContainText(paid.id);
  await expectNoSeriousViolations(page, 'delivery log');

  // The receiver got the event twice, both times with a good signature.
  const got = await receiver.received();
  expect(got.per_event[eventId], `receiver's deliveries of ${eventId}`).toBe(2);
  expect(got.bad_signatures - before.bad_signatures, 'deliveries with a bad signature').toBe(0);

  // Redeliver sends the delivered event again: a third attempt, answered 200, which the receiver
  // gets with the same event id.
  await delivery.getByRole('button', { name: /^Redeliver payment\.created/ }).click();
  await expect(page.getByText('Delivery queued again')).toBeVisible();
  await expect.poll(progress, { timeout: 30_000, intervals: [1000, 2000] }).toBe('succeeded after 3 attempts');
  await expect(attempts).toHaveCount(3);
  await expect(attempts.nth(2)).toContainText('Attempt 3');
  await expect(attempts.nth(2)).toContainText('HTTP 200');
  const again = await receiver.received();
  expect(again.per_event[eventId], `receiver's deliveries of ${eventId}`).toBe(3);
  expect(again.bad_signatures - before.bad_signatures, 'deliveries with a bad signature').toBe(0);
  expect(again.bad_payloads - before.bad_payloads, 'signed deliveries that were not events').toBe(0);

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
