import { expect, test } from '@playwright/test';
import { Api, logIn, newUser, runId } from './support';

// Customers: rename, give a colleague access by email, who then sees the payments, and take it away.

test('a customer is renamed, shared by email and unshared', async ({ page, request, browser }) => {
  const api = new Api(request);
  const owner = newUser('owner');
  const colleague = newUser('colleague');
  await api.signUp(owner);
  await api.signUp(colleague);
  const token = await api.token(owner);
  const shop = await api.createCustomer(token, `E2E Shared Shop ${runId}`);
  const paid = await api.createPayment(token, { customer_id: shop.id, amount: 777, currency: 'NOK', third_party: `Shared Supplier ${runId}` });
  await api.waitFor(token, paid.consistency);

  await logIn(page, owner);
  await page.getByRole('link', { name: 'Customers' }).first().click();
  const renamed = `E2E Renamed Shop ${runId}`;
  await page.getByRole('button', { name: `Edit: E2E Shared Shop ${runId}` }).click();
  const edit = page.getByRole('dialog', { name: 'Edit customer' });
  await edit.getByLabel('Name').fill(renamed);
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toBeHidden();
  const card = page.getByRole('region', { name: renamed });
  await expect(card).toBeVisible();

  // The only person cannot be removed; an unknown email is explained.
  await expect(card.getByRole('button', { name: `Remove ${owner.name} from ${renamed}` })).toBeDisabled();
  await card.getByLabel('Email of a registered user').fill(`nobody-${runId}@example.com`);
  await card.getByRole('button', { name: 'Add' }).click();
  await expect(card.getByText(/No user with that email/)).toBeVisible();

  await card.getByLabel('Email of a registered user').fill(colleague.email);
  await card.getByRole('button', { name: 'Add' }).click();
  await expect(card.getByText(colleague.email)).toBeVisible();

  // The colleague now sees the customer's payments, under its new name.
  const other = await browser.newContext();
  const theirs = await other.newPage();
  await logIn(theirs, colleague);
  const row = theirs.getByTestId('payment-row').filter({ hasText: `Shared Supplier ${runId}` });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(renamed);

  await card.getByRole('button', { name: `Remove ${colleague.name} from ${renamed}` }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove access?' });
  await confirm.getByRole('button', { name: 'Remove' }).click();
  await expect(confirm).toBeHidden();
  await expect(card.getByText(colleague.email)).toBeHidden();

  // …and no longer does.
  await theirs.reload();
  await expect(theirs.getByText('You have no customers yet.')).toBeVisible();
  await other.close();
});
