import { expect, test } from '@playwright/test';
import { Api, expectNoSeriousViolations, logIn, newUser, passwordInput, runId, waitForStatus } from './support';

// The detail page /payments/:id (issue 19, item 2): the drawer is a route, so it can be shared and
// reloaded; it shows the timeline, the refunds and the actions; back returns to the list with its
// filters and scroll position.

test('a payment detail URL is opened from the list, reloaded, shared and closed back to the filtered, scrolled list', async ({
  page,
  request,
  browser,
}) => {
  const user = newUser('detail');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E Detail Shop ${runId}`);
  let last = { id: '', consistency: '' };
  for (let i = 0; i < 24; i++) {
    last = await api.createPayment(token, {
      customer_id: shop.id,
      amount: 1_000 + i,
      currency: 'EUR',
      third_party: `Detail Supplier ${runId} n${i}`,
    });
  }
  const paid = await api.createPayment(token, { customer_id: shop.id, amount: 8_000, currency: 'EUR', third_party: `Detail Supplier ${runId} refundme` });
  await api.waitFor(token, last.consistency);
  await waitForStatus(request, token, paid.id, ['succeeded']);

  await logIn(page, user);
  const listUrl = `/payments?q=${encodeURIComponent(`Detail Supplier ${runId}`)}&sort=date`;
  await page.goto(listUrl);
  await expect(page.getByTestId('payment-row')).toHaveCount(25);

  // Scroll down to the last row and open it. Its reference shows the random tail, not only the time-ordered head.
  const row = page.locator(`[data-testid="payment-row"][data-payment-id="${paid.id}"]`);
  await expect(row.getByRole('button', { name: /Show details of payment/ })).toContainText(paid.payment_ref_id.slice(-8));
  await row.scrollIntoViewIfNeeded();
  const scrolled = await page.evaluate(() => window.scrollY);
  expect(scrolled).toBeGreaterThan(100);
  await row.getByRole('button', { name: /Show details of payment/ }).click();
  await expect(page).toHaveURL(new RegExp(`/payments/${paid.id}\\?`));
  const drawer = page.getByRole('dialog', { name: 'Payment details' });
  await expect(drawer.getByTestId('payment-heading')).toContainText('€80.00');
  await expect(drawer.getByRole('list', { name: 'Timeline' }).locator('[data-event-type="payment.succeeded"]')).toHaveCount(1);
  await expect(drawer.getByRole('button', { name: 'Copy link' })).toHaveAttribute('data-share-url', new RegExp(`/payments/${paid.id}$`));

  await test.step('refund from the detail page: the refunds table and the timeline show it', async () => {
    await drawer.getByRole('button', { name: 'Refund', exact: true }).click();
    await drawer.getByRole('textbox', { name: /Amount to refund/ }).fill('30');
    await drawer.getByRole('button', { name: 'Refund €30.00' }).click();
    const refunds = drawer.getByTestId('payment-refunds');
    await expect(refunds.getByRole('row')).toHaveCount(2);
    await expect(refunds).toContainText('€30.00');
    await expect(refunds.locator('[data-refund-state="succeeded"]')).toHaveCount(1, { timeout: 90_000 });
  });

  await test.step('a reload shows the same detail page over the same filtered list', async () => {
    await page.reload();
    await expect(drawer.getByTestId('payment-heading')).toContainText('€80.00');
    await expect(drawer.getByTestId('payment-refunds')).toContainText('€30.00');
    await expectNoSeriousViolations(page, 'payment detail page');
  });

  await test.step('closing returns to the list with its filters', async () => {
    await drawer.getByRole('button', { name: 'Close' }).click();
    await expect(drawer).toBeHidden();
    await expect(page).toHaveURL(/\/payments\?q=/);
    await expect(page.getByTestId('payment-row')).toHaveCount(25);
  });

  await test.step('back from a detail opened in the list keeps the scroll position', async () => {
    const again = page.locator(`[data-testid="payment-row"][data-payment-id="${paid.id}"]`);
    await again.scrollIntoViewIfNeeded();
    const before = await page.evaluate(() => window.scrollY);
    await again.getByRole('button', { name: /Show details of payment/ }).click();
    await expect(drawer).toBeVisible();
    await page.goBack();
    await expect(drawer).toBeHidden();
    await expect(page).toHaveURL(new RegExp(`/payments\\?q=.*sort=date`));
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(before - 20);
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(100);
  });

  await test.step('a shared link asks a colleague to sign in, then opens the payment', async () => {
    const other = await browser.newContext();
    const tab = await other.newPage();
    await tab.goto(`/payments/${paid.id}`);
    await expect(tab).toHaveURL(/\/login\?next=/);
    await tab.getByLabel('Email').fill(user.email);
    await passwordInput(tab).fill(user.password);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await expect(tab).toHaveURL(new RegExp(`/payments/${paid.id}$`));
    await expect(tab.getByRole('dialog', { name: 'Payment details' }).getByTestId('payment-heading')).toContainText('€80.00');
    await other.close();
  });

  await test.step('an unknown payment id says so instead of showing an empty drawer', async () => {
    await page.goto('/payments/00000000-0000-4000-8000-000000000000');
    await expect(drawer.getByText('Could not load this payment')).toBeVisible();
  });
});
