import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { Api, daysAgo, logIn, newUser, runId } from './support';

// At 375 px wide: cards instead of a table, filters in a drawer, navigation behind a burger,
// and nothing wider than the screen. The screenshot is kept in test-results/.

const SCREENSHOT = fileURLToPath(new URL('../test-results/phone-payments.png', import.meta.url));

test('the payments page is fully usable on a 375 px phone', async ({ page, request }, testInfo) => {
  const user = newUser('phone');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E Phone Shop ${runId}`);
  let last = shop.consistency;
  for (let k = 0; k < 6; k++) {
    const p = await api.createPayment(token, {
      customer_id: shop.id,
      amount: 4_200 + k,
      currency: ['DKK', 'EUR', 'SEK'][k % 3] ?? 'DKK',
      third_party: `Phone Supplier ${k} ${runId}`,
      description: 'Coffee beans and a very long description that must wrap or truncate on a phone',
      date: daysAgo(k).noonUtc,
    });
    last = p.consistency;
  }
  await api.waitFor(token, last);

  await logIn(page, user);
  const cards = page.getByTestId('payment-card');
  await expect(cards).toHaveCount(6);
  await expect(page.getByTestId('payment-row')).toHaveCount(0);

  // Nothing scrolls sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  // Filters live in a drawer.
  await page.getByRole('button', { name: /^Filters/ }).click();
  const drawer = page.getByRole('dialog', { name: 'Filters' });
  await expect(drawer).toBeVisible();
  await drawer.getByLabel('Search').fill(`Phone Supplier 3 ${runId}`);
  await drawer.getByRole('button', { name: 'Apply filters' }).click();
  await expect(drawer).toBeHidden();
  await expect(cards).toHaveCount(1);
  await expect(page.getByRole('button', { name: /^Filters/ })).toContainText('1');

  // A card opens the details.
  await cards.first().getByRole('button').click();
  const details = page.getByRole('dialog', { name: 'Payment details' });
  await expect(details).toContainText(`Phone Supplier 3 ${runId}`);
  await details.getByRole('button', { name: 'Close' }).or(details.locator('button.mantine-Drawer-close')).first().click();
  await expect(details).toBeHidden();

  // Back to everything; create a payment from the phone.
  await page.getByRole('button', { name: /^Filters/ }).click();
  await page.getByRole('dialog', { name: 'Filters' }).getByRole('button', { name: 'Reset' }).click();
  await expect(cards).toHaveCount(6);
  await page.getByRole('button', { name: 'New payment' }).click();
  const dialog = page.getByRole('dialog', { name: 'New payment' });
  await dialog.getByRole('textbox', { name: 'Amount' }).fill('99.95');
  await dialog.getByRole('textbox', { name: 'Third party' }).fill(`Phone Made ${runId}`);
  await dialog.getByRole('button', { name: 'Create payment' }).click();
  await expect(dialog).toBeHidden();
  await expect(cards.filter({ hasText: `Phone Made ${runId}` })).toHaveCount(1);

  // Navigation sits behind the burger.
  await page.getByRole('button', { name: 'Toggle navigation' }).click();
  const nav = page.getByRole('navigation', { name: 'Main navigation' });
  await expect(nav.getByRole('link', { name: 'Customers' })).toBeVisible();
  await page.keyboard.press('Escape');

  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await testInfo.attach('phone-payments', { path: SCREENSHOT, contentType: 'image/png' });
});
