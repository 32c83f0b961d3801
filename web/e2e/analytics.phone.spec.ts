import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { Api, seedAnalytics } from './support';

const SCREENSHOT = fileURLToPath(new URL('../test-results/phone-analytics.png', import.meta.url));

test('analytics fit a 375 px phone: no element wider than the screen', async ({ page, request }, testInfo) => {
  await seedAnalytics(page, new Api(request), 'analyticsphone');
  await page.goto('/analytics?days=7');
  await expect(page.getByTestId('kpi-count')).toHaveText('4');
  await expect(page.getByTestId('chart-count').locator('.recharts-surface')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  // Every card and chart fits in the 375 px viewport.
  for (const id of ['chart-count', 'chart-volume-EUR', 'chart-volume-DKK', 'chart-status', 'chart-failures']) {
    const box = await page.getByTestId(id).boundingBox();
    expect(box, id).not.toBeNull();
    expect(box!.x, id).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, id).toBeLessThanOrEqual(375);
    const svg = await page.getByTestId(id).locator('.recharts-surface').first().boundingBox();
    if (svg) expect(svg.x + svg.width, `${id} svg`).toBeLessThanOrEqual(375);
  }
  await page.getByTestId('chart-count').getByRole('button', { name: /as a table/ }).click();
  const overflowTable = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflowTable).toBeLessThanOrEqual(0);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await testInfo.attach('phone-analytics', { path: SCREENSHOT, contentType: 'image/png' });
});
