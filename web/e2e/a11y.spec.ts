import { expect, test } from '@playwright/test';
import { Api, expectNoSeriousViolations, logIn, newUser, passwordInput, runId } from './support';

// Automated accessibility checks (axe-core, WCAG 2.1 A/AA rules) of the main pages; serious and
// critical violations fail. Plus the keyboard path through login.

test('login and sign-up pages have no serious accessibility violations', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByRole('heading', { name: 'Sign in to Wildcat Payments' })).toBeVisible();
  await expectNoSeriousViolations(page, 'login');
  // Errors shown are announced and pass too.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByText('Enter your email address')).toBeVisible();
  await expectNoSeriousViolations(page, 'login with errors');
  await page.goto('/signup');
  await expect(page.getByRole('heading', { name: 'Create your account' })).toBeVisible();
  await expectNoSeriousViolations(page, 'sign-up');
});

test('payments and customers pages have no serious accessibility violations', async ({ page, request }) => {
  const user = newUser('a11y');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E A11y Shop ${runId}`);
  const p = await api.createPayment(token, { customer_id: shop.id, amount: 12_345, currency: 'DKK', third_party: `A11y Supplier ${runId}` });
  await api.waitFor(token, p.consistency);

  await logIn(page, user);
  await expect(page.getByTestId('payment-row')).toHaveCount(1);
  await expectNoSeriousViolations(page, 'payments');

  await page.getByRole('button', { name: 'New payment' }).click();
  await expect(page.getByRole('dialog', { name: 'New payment' })).toBeVisible();
  await expectNoSeriousViolations(page, 'new payment dialog');
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog', { name: 'New payment' })).toBeHidden();

  await page.getByRole('link', { name: 'Customers' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Customers', exact: true })).toBeVisible();
  await expect(page.getByTestId('customer-card')).toHaveCount(1);
  await expectNoSeriousViolations(page, 'customers');
});

test('keyboard only: skip link, login form and focus', async ({ page, request }) => {
  const user = newUser('keys');
  await new Api(request).signUp(user);
  await page.goto('/login');
  await page.getByLabel('Email').focus();
  await page.keyboard.type(user.email);
  await page.keyboard.press('Tab');
  await expect(passwordInput(page)).toBeFocused();
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Payments', exact: true })).toBeVisible();

  // On a fresh page the first Tab reaches the skip link, which moves focus to the main content.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Payments', exact: true })).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to main content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('#main')).toBeFocused();
  // Focus is visible: the focused control draws an outline.
  await page.keyboard.press('Tab');
  const outline = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? getComputedStyle(el).outlineStyle : 'none';
  });
  expect(outline).not.toBe('none');
});
