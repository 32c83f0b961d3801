import { expect, test } from '@playwright/test';
import { Api, expectNoSeriousViolations, seedAnalytics } from './support';

// Analytics (issue 19, item 3): per-day charts with axes and zero days, volume per currency (never
// summed across currencies), status and failure-code breakdowns, success rate, and the numbers of
// every chart as an accessible table.

test('analytics show per-day counts with zero days, volume per currency, statuses, failures and the success rate', async ({ page, request }) => {
  await seedAnalytics(page, new Api(request), 'analytics');
  await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Analytics' }).click();
  await expect(page).toHaveURL(/\/analytics$/);
  await page.locator('label', { hasText: 'Last 7 days' }).click();
  await expect(page).toHaveURL(/days=7/);

  await expect(page.getByTestId('kpi-count')).toHaveText('4');
  await expect(page.getByTestId('kpi-success-rate')).toHaveText('75%');
  await expect(page.getByTestId('kpi-volume-EUR')).toHaveText('€35.00');
  await expect(page.getByTestId('kpi-volume-DKK')).toHaveText('DKK 119.00');

  const countChart = page.getByTestId('chart-count');
  // The chart has axes and one bar slot per day of the period, days without payments included.
  await expect(countChart.locator('.recharts-xAxis')).toHaveCount(1);
  await expect(countChart.locator('.recharts-yAxis')).toHaveCount(1);
  await expectNoSeriousViolations(page, 'analytics');

  await countChart.getByRole('button', { name: 'Show Payments per day as a table' }).click();
  const countRows = countChart.getByRole('table').getByRole('row');
  await expect(countRows).toHaveCount(8); // header + 7 days
  const counts = await countChart.getByRole('table').locator('tbody tr td:nth-child(2)').allTextContents();
  expect(counts).toEqual(['0', '0', '2', '0', '0', '2', '0']);

  // Volume: one chart per currency, never a sum across them.
  await expect(page.getByTestId('chart-volume-EUR')).toBeVisible();
  await expect(page.getByTestId('chart-volume-DKK')).toBeVisible();
  const eur = page.getByTestId('chart-volume-EUR');
  await eur.getByRole('button', { name: /as a table/ }).click();
  expect(await eur.getByRole('table').locator('tbody tr td:nth-child(2)').allTextContents()).toEqual([
    '€0.00',
    '€0.00',
    '€0.00',
    '€0.00',
    '€0.00',
    '€35.00',
    '€0.00',
  ]);

  const failures = page.getByTestId('chart-failures');
  await failures.getByRole('button', { name: /as a table/ }).click();
  await expect(failures.getByRole('table')).toContainText('Insufficient funds');
  const statuses = page.getByTestId('chart-status');
  await statuses.getByRole('button', { name: /as a table/ }).click();
  await expect(statuses.getByRole('row', { name: /Succeeded/ })).toContainText('3');
  await expect(statuses.getByRole('row', { name: /Failed/ })).toContainText('1');
  await expectNoSeriousViolations(page, 'analytics tables');
});
