import { expect, test } from '@playwright/test';
import { Api, logIn, newUser, runId, waitForStatus } from './support';

// The payment lifecycle (issue 15) against the real stack: the processor and the provider
// simulator settle payments by themselves. A third party of `sim:decline:<code>` is declined by the
// simulator with that code. Everything waits by polling, never by sleeping.

test('a declined payment shows why, and a succeeded one is refunded in part from the drawer', async ({ page, request }) => {
  const user = newUser('lifecycle');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E Lifecycle Shop ${runId}`);
  const declined = await api.createPayment(token, {
    customer_id: shop.id,
    amount: 4_200,
    currency: 'DKK',
    third_party: 'sim:decline:insufficient_funds',
  });
  const paid = await api.createPayment(token, {
    customer_id: shop.id,
    amount: 10_000,
    currency: 'EUR',
    third_party: `Lifecycle Supplier ${runId}`,
  });
  await waitForStatus(request, token, declined.id, ['failed']);
  await waitForStatus(request, token, paid.id, ['succeeded']);

  await logIn(page, user);
  const declinedRow = page.locator(`[data-testid="payment-row"][data-payment-id="${declined.id}"]`);
  await expect(declinedRow.locator('[data-status="failed"]')).toHaveText('Failed');
  await expect(declinedRow.getByTestId('failure-reason')).toHaveText('Insufficient funds');

  await test.step('the failure and the timeline in the drawer', async () => {
    await declinedRow.getByRole('button', { name: /Show details/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Payment details' });
    await expect(drawer.getByTestId('failure-alert')).toContainText('Insufficient funds');
    const timeline = drawer.getByRole('list', { name: 'Timeline' });
    await expect(timeline.locator('[data-event-type="payment.created"]')).toHaveCount(1);
    await expect(timeline.locator('[data-event-type="payment.failed"]')).toHaveCount(1);
    // A decline is final: nothing to cancel, refund or retry.
    await expect(drawer.getByRole('region', { name: 'Actions' })).toHaveCount(0);
    await page.keyboard.press('Escape');
    await expect(drawer).toBeHidden();
  });

  await test.step('refund a quarter from the drawer', async () => {
    const paidRow = page.locator(`[data-testid="payment-row"][data-payment-id="${paid.id}"]`);
    await expect(paidRow.locator('[data-status="succeeded"]')).toBeVisible();
    await paidRow.getByRole('button', { name: /Show details/ }).click();
    const drawer = page.getByRole('dialog', { name: 'Payment details' });
    await drawer.getByRole('button', { name: 'Refund', exact: true }).click();
    const amount = drawer.getByRole('textbox', { name: /Amount to refund/ });
    await expect(amount).toBeFocused();
    await expect(amount).toHaveValue('100.00');
    await amount.fill('25.00');
    await drawer.getByRole('button', { name: 'Refund €25.00' }).click();
    await expect(page.getByText('Refund of €25.00 requested')).toBeVisible();
    // The drawer keeps asking while the refund is under way; the processor settles it.
    await expect(drawer.getByRole('list', { name: 'Timeline' }).locator('[data-event-type="refund.created"]')).toHaveCount(1);
    await expect(drawer.getByTestId('payment-heading')).toContainText('Partially refunded', { timeout: 90_000 });
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(paidRow.getByTestId('refund-hint')).toHaveText('Partially refunded');
  });

  await test.step('filters: failed with insufficient funds', async () => {
    await page.goto('/payments?status=failed&failure_code=insufficient_funds');
    await expect(page.getByTestId('payment-row')).toHaveCount(1);
    await expect(page.locator(`[data-testid="payment-row"][data-payment-id="${declined.id}"]`)).toBeVisible();
  });

  await test.step('the Needs attention view answers (dead letters need exhausted retries, which this test does not force)', async () => {
    await page.getByRole('link', { name: 'Needs attention' }).first().click();
    await expect(page.getByRole('heading', { level: 1, name: 'Needs attention' })).toBeVisible();
    await expect(page.getByText('Nothing needs attention')).toBeVisible();
  });
});
