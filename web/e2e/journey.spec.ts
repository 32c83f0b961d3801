import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { Api, daysAgo, logIn, newUser, passwordInput, pickOption, runId, sessionToken } from './support';
import type { CustomerList } from '../src/api/types';

// The whole day of a new user, in order: sign up, log in, create customers and payments, filter by
// customer and date, page forward and back, export, switch to Danish, log out.

const rows = (page: Page) => page.getByTestId('payment-row');
const summaryCount = (page: Page) => page.getByTestId('summary-count');
const pageRange = (page: Page) => page.getByTestId('page-range');

async function rowIds(page: Page): Promise<string[]> {
  return rows(page).evaluateAll((els) => els.map((e) => e.getAttribute('data-payment-id') ?? ''));
}

/** turnPage clicks a pagination button and waits until different rows are on screen. */
async function turnPage(page: Page, button: 'Next page' | 'Previous page', range: string): Promise<string[]> {
  const before = await rowIds(page);
  await page.getByRole('button', { name: button }).click();
  await expect(pageRange(page)).toHaveText(range);
  await expect.poll(async () => (await rowIds(page)).join()).not.toBe(before.join());
  return rowIds(page);
}

async function applyFilters(page: Page) {
  await page.getByRole('button', { name: 'Apply filters' }).click();
}

test('a new user signs up, pays, filters, pages, exports, reads Danish and logs out', async ({ page, request }) => {
  const user = newUser('journey');
  const api = new Api(request);
  const coffee = `E2E Coffee ${runId}`;
  const bakery = `E2E Bakery ${runId}`;
  const apiRefs: { coffee: string[]; bakery: string[] } = { coffee: [], bakery: [] };

  await test.step('sign up', async () => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/login/);
    await page.getByRole('link', { name: 'Create one' }).click();
    await page.getByLabel('Full name').fill(user.name);
    await page.getByLabel('Email').fill(user.email);
    await passwordInput(page).fill(user.password);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Payments', exact: true })).toBeVisible();
    await expect(page.getByText('You have no customers yet.')).toBeVisible();
  });

  await test.step('log out and log in again', async () => {
    await page.getByRole('button', { name: 'Account' }).click();
    await page.getByRole('menuitem', { name: 'Log out' }).click();
    await expect(page.getByRole('heading', { name: 'Sign in to Wildcat Payments' })).toBeVisible();
    await expect(page.getByText('You have been signed out.')).toBeVisible();
    await logIn(page, user);
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  await test.step('create two customers', async () => {
    await page.getByRole('link', { name: 'Customers' }).first().click();
    await expect(page.getByRole('heading', { level: 1, name: 'Customers', exact: true })).toBeVisible();
    for (const name of [coffee, bakery]) {
      await page.getByRole('button', { name: 'New customer' }).click();
      const dialog = page.getByRole('dialog', { name: 'New customer' });
      await dialog.getByLabel('Name').fill(name);
      await dialog.getByRole('button', { name: 'Create customer' }).click();
      await expect(dialog).toBeHidden();
      await expect(page.getByRole('heading', { name })).toBeVisible();
    }
  });

  await test.step('create payments in the UI; each new row shows at once', async () => {
    await page.getByRole('link', { name: 'Payments' }).first().click();
    for (let i = 1; i <= 3; i++) {
      await page.getByRole('button', { name: 'New payment' }).click();
      const dialog = page.getByRole('dialog', { name: 'New payment' });
      await pickOption(dialog, page, 'Customer', coffee);
      await dialog.getByRole('textbox', { name: 'Amount' }).fill(`1,2${i}4.50`);
      await dialog.getByRole('textbox', { name: 'Third party' }).fill(`UI Supplier ${i} ${runId}`);
      // A double click must not pay twice (one Idempotency-Key per submission).
      await dialog.getByRole('button', { name: 'Create payment' }).dblclick();
      await expect(dialog).toBeHidden();
      const row = rows(page).filter({ hasText: `UI Supplier ${i} ${runId}` });
      await expect(row).toHaveCount(1);
      await expect(row.getByTestId('payment-amount')).toHaveText(new RegExp(`^DKK\\s1,2${i}4\\.50$`));
    }
  });

  // Customer ids, and dated payments through the API (the UI makes "now" payments).
  const token = await sessionToken(page);
  const customers = await (
    await request.get('/api/query/v1/customers', { headers: { Authorization: `Bearer ${token}` } })
  ).json() as CustomerList;
  const coffeeId = customers.data.find((c) => c.name === coffee)?.id ?? '';
  const bakeryId = customers.data.find((c) => c.name === bakery)?.id ?? '';
  expect(coffeeId).not.toBe('');
  expect(bakeryId).not.toBe('');

  await test.step('create dated payments (9 for coffee, 2 for bakery)', async () => {
    let last = '';
    for (let k = 1; k <= 9; k++) {
      const p = await api.createPayment(token, {
        customer_id: coffeeId,
        amount: 10_000 + k * 111,
        currency: k % 3 === 0 ? 'EUR' : 'DKK',
        third_party: `API Supplier ${k} ${runId}`,
        date: daysAgo(k).noonUtc,
      });
      apiRefs.coffee.push(p.payment_ref_id);
      last = p.consistency;
    }
    for (const k of [2, 3]) {
      const p = await api.createPayment(token, {
        customer_id: bakeryId,
        amount: 500 + k,
        currency: 'JPY',
        third_party: `Bakery Supplier ${k} ${runId}`,
        date: daysAgo(k).noonUtc,
      });
      apiRefs.bakery.push(p.payment_ref_id);
      last = p.consistency;
    }
    await api.waitFor(token, last);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await expect(summaryCount(page)).toHaveText('14');
  });

  await test.step('filter by customer', async () => {
    await pickOption(page, page, 'Customers', coffee, true);
    await applyFilters(page);
    await expect(page).toHaveURL(new RegExp(`customer_id=${coffeeId}`));
    await expect(summaryCount(page)).toHaveText('12');
    await expect(rows(page)).toHaveCount(12);
    await expect(rows(page).filter({ hasText: bakery })).toHaveCount(0);
  });

  await test.step('filter by date range, then by its start alone', async () => {
    await page.getByLabel('From').fill(daysAgo(6).day);
    await page.getByLabel('To (inclusive)').fill(daysAgo(2).day);
    await applyFilters(page);
    await expect(page).toHaveURL(new RegExp(`from=${daysAgo(6).day}&to=${daysAgo(2).day}`));
    await expect(summaryCount(page)).toHaveText('5');
    await expect(rows(page)).toHaveCount(5);
    for (let k = 2; k <= 6; k++) await expect(rows(page).filter({ hasText: `API Supplier ${k} ${runId}` })).toHaveCount(1);

    // Either end alone works: clear "To".
    await page.getByLabel('To (inclusive)').fill('');
    await applyFilters(page);
    await expect(page).not.toHaveURL(/[?&]to=/);
    await expect(summaryCount(page)).toHaveText('9'); // 3 made today + days 1..6
    await page.getByLabel('From').fill('');
    await applyFilters(page);
    await expect(summaryCount(page)).toHaveText('12');
  });

  await test.step('page forward and back with 5 rows per page', async () => {
    await page.getByLabel('Rows per page').selectOption('5');
    await expect(page).toHaveURL(/limit=5/);
    await expect(pageRange(page)).toHaveText('1–5 of 12 · Page 1 of 3');
    const first = await rowIds(page);
    const second = await turnPage(page, 'Next page', '6–10 of 12 · Page 2 of 3');
    const third = await turnPage(page, 'Next page', '11–12 of 12 · Page 3 of 3');
    expect(third).toHaveLength(2);
    await expect(page.getByRole('button', { name: 'Next page' })).toBeDisabled();
    expect(new Set([...first, ...second, ...third]).size).toBe(12);

    expect(await turnPage(page, 'Previous page', '6–10 of 12 · Page 2 of 3')).toEqual(second);
    expect(await turnPage(page, 'Previous page', '1–5 of 12 · Page 1 of 3')).toEqual(first);
    await expect(page.getByRole('button', { name: 'Previous page' })).toBeDisabled();
  });

  await test.step('export the filtered payments as CSV', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const csv = await readFile(file, 'utf8');
    const lines = csv.split(/\r?\n/).filter((l) => l.trim() !== '');
    expect(lines.length).toBe(1 + 12); // header + every match, not just the page on screen
    expect(lines[0]).toContain('payment_ref_id');
    // Amount 10,111 minor units of DKK: exported exactly, never through a float.
    const day1 = lines.find((l) => l.includes(`API Supplier 1 ${runId}`)) ?? '';
    expect(day1).toContain('10111');
    expect(day1).toContain('101.11');
    for (const ref of apiRefs.coffee) expect(csv).toContain(ref);
    for (const ref of apiRefs.bakery) expect(csv).not.toContain(ref);
    expect(csv).toContain(`UI Supplier 2 ${runId}`);
  });

  await test.step('switch to Danish', async () => {
    await page.getByLabel('Language').selectOption('da');
    await expect(page.getByRole('heading', { level: 1, name: 'Betalinger', exact: true })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'da');
    await expect(page.getByRole('columnheader', { name: /Beløb/ })).toBeVisible();
    await expect(pageRange(page)).toHaveText('1–5 af 12 · Side 1 af 3');
    // Amounts and dates follow the language: Danish decimal comma and month names.
    const row = rows(page).filter({ hasText: `UI Supplier 1 ${runId}` });
    await expect(row.getByTestId('payment-amount')).toHaveText(/^1\.214,50\s?kr\.$/);
  });

  await test.step('log out', async () => {
    await page.getByRole('button', { name: 'Konto' }).click();
    await page.getByRole('menuitem', { name: 'Log ud' }).click();
    await expect(page.getByRole('heading', { name: 'Log ind på Wildcat Payments' })).toBeVisible();
    await expect(page.getByText('Du er logget ud.')).toBeVisible();
    expect(await page.evaluate(() => sessionStorage.getItem('wildcat.session'))).toBeNull();
    await page.goto('/payments');
    await expect(page).toHaveURL(/\/login\?next=%2Fpayments/);
  });
});
