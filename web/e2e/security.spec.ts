import { expect, test } from '@playwright/test';
import { Api, logIn, newUser, runId } from './support';

// The web server's security headers (issue 18): a Content-Security-Policy without inline scripts,
// no framing, nosniff and a Referrer-Policy, on the page the browser really loads, and the real UI
// works under them: a journey through the main pages reports no CSP violation. Plus what the web
// server must not publish: the APIs' /metrics, source maps.

test('the UI is served with the security headers and runs under its CSP', async ({ page, request }) => {
  const violations: string[] = [];
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(msg.text())) violations.push(msg.text());
  });
  await page.exposeFunction('reportCSPViolation', (v: string) => violations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { reportCSPViolation: (v: string) => void }).reportCSPViolation(
        `${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`,
      );
    });
  });

  const res = await page.goto('/login');
  expect(res?.status()).toBe(200);
  const h = res!.headers();
  const csp = h['content-security-policy'] ?? '';
  const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? '';
  expect(scriptSrc).toBe("'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");
  expect(h['x-content-type-options']).toBe('nosniff');
  expect(h['referrer-policy']).toBe('strict-origin-when-cross-origin');
  expect(h['x-frame-options']).toBe('DENY');

  // The UI works under the policy: log in, see a payment, open the dialog, visit customers.
  const user = newUser('csp');
  const api = new Api(request);
  await api.signUp(user);
  const token = await api.token(user);
  const shop = await api.createCustomer(token, `E2E CSP Shop ${runId}`);
  const p = await api.createPayment(token, { customer_id: shop.id, amount: 4_200, currency: 'DKK', third_party: `CSP Supplier ${runId}` });
  await api.waitFor(token, p.consistency);
  await logIn(page, user);
  await expect(page.getByTestId('payment-row')).toHaveCount(1);
  await page.getByRole('button', { name: 'New payment' }).click();
  await expect(page.getByRole('dialog', { name: 'New payment' })).toBeVisible();
  await page.keyboard.press('Escape');
  await page.getByRole('link', { name: 'Customers' }).first().click();
  await expect(page.getByRole('heading', { level: 1, name: 'Customers', exact: true })).toBeVisible();
  expect(violations).toEqual([]);
});

test('the web server publishes neither the APIs\' metrics nor source maps', async ({ request, page }) => {
  for (const path of ['/api/command/metrics', '/api/query/metrics', '/api/command/readyz']) {
    const res = await request.get(path);
    expect(res.status(), path).toBe(404);
    expect(res.headers()['content-type'], path).toBe('application/problem+json');
  }
  const res = await page.goto('/login');
  const html = (await res?.text()) ?? '';
  const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  expect(script).toBeTruthy();
  const js = await request.get(script!);
  expect(js.status()).toBe(200);
  expect(await js.text()).not.toContain('sourceMappingURL');
  expect((await request.get(`${script}.map`)).status()).toBe(404);
});
