import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { Api, logIn, newUser, runId, sessionToken } from './support';

// Table and export (issue 19, item 4): the column chooser and density persist per user across
// reloads; the CSV has the chosen columns with times in the viewer's zone; amounts are sorted only
// within one currency, and the API refuses an amount order across currencies.

test('chosen columns and density persist, the CSV follows them in the local time zone, and amount sorting needs one currency', async ({
  page,
  request,
}) => {
  const user = newUser('table');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E Table Shop ${runId}`);
  let last = { consistency: '' };
  for (const [amount, currency] of [
    [500, 'EUR'],
    [120_000, 'JPY'],
    [9_900, 'EUR'],
    [2_500, 'EUR'],
  ] as const) {
    last = await api.createPayment(token, {
      customer_id: shop.id,
      amount,
      currency,
      third_party: `Table Supplier ${runId}`,
      description: `Invoice ${amount}`,
    });
  }
  await api.waitFor(token, last.consistency);
  await logIn(page, user);
  await expect(page.getByTestId('payment-row')).toHaveCount(4);
  const table = page.getByRole('table', { name: 'Payments' });

  await test.step('choose columns and density; a reload keeps them', async () => {
    await page.getByRole('button', { name: 'Columns and density' }).click();
    const chooser = page.getByTestId('column-chooser');
    await chooser.getByRole('checkbox', { name: 'Executed by' }).uncheck();
    await chooser.getByRole('checkbox', { name: 'Description' }).check();
    await expect(chooser.getByRole('checkbox', { name: 'Payment reference' })).toBeDisabled();
    await chooser.getByText('Compact').click();
    await page.keyboard.press('Escape');
    await expect(table.getByRole('columnheader', { name: 'Description' })).toBeVisible();
    await expect(table.getByRole('columnheader', { name: 'Executed by' })).toHaveCount(0);
    await expect(table).toHaveAttribute('data-density', 'compact');

    await page.reload();
    await expect(page.getByTestId('payment-row')).toHaveCount(4);
    await expect(table.getByRole('columnheader', { name: 'Description' })).toBeVisible();
    await expect(table.getByRole('columnheader', { name: 'Executed by' })).toHaveCount(0);
    await expect(table).toHaveAttribute('data-density', 'compact');
    await expect(table).toContainText('Invoice 9900');
  });

  await test.step('the CSV has the chosen columns, times in Europe/Copenhagen', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('date,payment_ref_id,customer_id,customer_name,third_party,description,amount_minor,amount,currency,status,failure_code');
    expect(lines).toHaveLength(5);
    for (const line of lines.slice(1)) {
      // Copenhagen is UTC+1 in winter, UTC+2 in summer: never Z.
      expect(line.split(',')[0]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+0[12]:00$/);
    }
  });

  await test.step('amount sorting is offered only with one currency filtered', async () => {
    await expect(table.getByRole('button', { name: 'Sort by Amount' })).toHaveCount(0);
    await expect(page.getByTestId('amount-sort-hint')).toBeVisible();
    await expect(page.getByRole('combobox', { name: 'Sort' }).locator('option')).toHaveText(['Newest first', 'Oldest first']);

    await page.goto('/payments?currency=EUR');
    await expect(page.getByTestId('payment-row')).toHaveCount(3);
    await table.getByRole('button', { name: 'Sort by Amount' }).click();
    await expect(page).toHaveURL(/sort=-amount/);
    await expect(table.getByTestId('payment-amount')).toHaveText(['€99.00', '€25.00', '€5.00']);
  });

  await test.step('the API refuses an amount order across currencies and unknown columns or zones', async () => {
    const auth = { Authorization: `Bearer ${await sessionToken(page)}` };
    for (const [path, field] of [
      ['/api/query/v1/payments?sort=-amount', 'sort'],
      ['/api/query/v1/payments/export.csv?sort=amount&currency=EUR&currency=JPY', 'sort'],
      ['/api/query/v1/payments/export.csv?columns=id,password', 'columns'],
      ['/api/query/v1/payments/export.csv?tz=Mars/Olympus', 'tz'],
    ] as const) {
      const res = await request.get(path, { headers: auth });
      expect(res.status(), path).toBe(400);
      expect(res.headers()['content-type']).toBe('application/problem+json');
      const body = (await res.json()) as { errors: { field: string }[] };
      expect(body.errors.map((e) => e.field)).toEqual([field]);
    }
  });
});
