#!/usr/bin/env node
// lighthouse.mjs — `make lighthouse`: Lighthouse 12.2.3 (pinned in package.json; 13 needs Node 22),
// headless Debian Chromium (CHROME_PATH, default /usr/bin/chromium), against the running stack at
// WEB_URL (default http://127.0.0.1:8080). Pages: the login page, the payments page and a payment's
// detail page (/payments/:id). Mobile preset (Lighthouse's default: simulated slow 4G and a 4x
// slower CPU), like issue 19's first measurement.
//
// Signing in: the UI keeps its session in sessionStorage ('wildcat.session', per tab; see
// src/auth/session.ts). The script gets a token from the command API, opens the origin in the tab
// Lighthouse drives (puppeteer-core), stores the session there, and runs Lighthouse with
// disableStorageReset so the signed-in pages see it. The user is the bench identity
// (.run/bench-identity.json, the user `make bench` seeds with BENCH_SEED_PAYMENTS, 1 M payments, in
// scope) when it exists, else a new user with a few payments.
//
// Output: the scores (0-100) per page, to LIGHTHOUSE_OUT (default ../.run/lighthouse.json) and stdout.
// LIGHTHOUSE_MIN (e.g. 90) makes it exit 1 when any performance/accessibility/best-practices
// score is below it.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import lighthouse from 'lighthouse';
import puppeteer from 'puppeteer-core';

const WEB_URL = (process.env.WEB_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const CHROME = process.env.CHROME_PATH ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = process.env.LIGHTHOUSE_OUT ?? `${ROOT}.run/lighthouse.json`;
const IDENTITY = `${ROOT}.run/bench-identity.json`;
const MIN = process.env.LIGHTHOUSE_MIN ? Number(process.env.LIGHTHOUSE_MIN) : null;
const CATEGORIES = ['performance', 'accessibility', 'best-practices'];

async function api(method, path, body, token, extra = {}) {
  const res = await fetch(`${WEB_URL}${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...extra,
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
  return { body: res.status === 204 ? null : await res.json(), headers: res.headers };
}

/** identity returns credentials: the bench user (1 M payments in scope) or a new one with a few payments. */
async function identity() {
  if (existsSync(IDENTITY)) {
    const id = JSON.parse(await readFile(IDENTITY, 'utf8'));
    return { email: id.email, password: id.password, source: 'bench identity (.run/bench-identity.json)' };
  }
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const u = { name: `Lighthouse ${tag}`, email: `lighthouse-${tag}@example.com`, password: `pw-${tag}-long-enough` };
  await api('POST', '/api/command/v1/users', u);
  const { body: tok } = await api('POST', '/api/command/v1/auth/token', { email: u.email, password: u.password });
  const { body: c } = await api('POST', '/api/command/v1/customers', { name: `Lighthouse Shop ${tag}` }, tok.access_token);
  let consistency = '';
  for (let i = 0; i < 30; i++) {
    const r = await api(
      'POST',
      '/api/command/v1/payments',
      { customer_id: c.id, amount: 1000 + i * 37, currency: ['EUR', 'DKK', 'USD'][i % 3], third_party: `Supplier ${i}`, description: `Invoice ${i}` },
      tok.access_token,
      { 'Idempotency-Key': `lh-${tag}-${i}` },
    );
    consistency = r.headers.get('x-consistency-token') ?? consistency;
  }
  await api('GET', `/api/query/v1/payments?limit=1&consistency_token=${encodeURIComponent(consistency)}`, null, tok.access_token);
  return { ...u, source: 'a new user with 30 payments' };
}

async function session(who) {
  const { body: tok } = await api('POST', '/api/command/v1/auth/token', { email: who.email, password: who.password });
  const { body: user } = await api('GET', '/api/command/v1/me', null, tok.access_token);
  const { body: page } = await api('GET', '/api/query/v1/payments?limit=1', null, tok.access_token);
  const first = page.data[0];
  if (!first) throw new Error('the user has no payments to open a detail page of');
  return { session: { token: tok.access_token, expiresAt: Date.now() + tok.expires_in * 1000, user }, paymentId: first.id, total: page.total, relation: page.total_relation };
}

async function audit(browser, url, signedIn) {
  const page = await browser.newPage();
  if (signedIn) {
    await page.goto(`${WEB_URL}/favicon.svg`);
    await page.evaluate((s) => sessionStorage.setItem('wildcat.session', JSON.stringify(s)), signedIn);
  }
  const result = await lighthouse(url, { output: 'json', logLevel: 'error', onlyCategories: CATEGORIES, disableStorageReset: Boolean(signedIn) }, undefined, page);
  await page.close();
  const lhr = result.lhr;
  if (lhr.runtimeError) throw new Error(`${url}: ${lhr.runtimeError.code} ${lhr.runtimeError.message}`);
  const scores = Object.fromEntries(CATEGORIES.map((c) => [c, Math.round((lhr.categories[c]?.score ?? 0) * 100)]));
  const metric = (id) => lhr.audits[id]?.numericValue;
  return {
    url,
    final_url: lhr.finalDisplayedUrl,
    scores,
    first_contentful_paint_ms: Math.round(metric('first-contentful-paint') ?? 0),
    largest_contentful_paint_ms: Math.round(metric('largest-contentful-paint') ?? 0),
    total_blocking_time_ms: Math.round(metric('total-blocking-time') ?? 0),
    cumulative_layout_shift: Math.round((metric('cumulative-layout-shift') ?? 0) * 1000) / 1000,
    failing: Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 0.9 && a.scoreDisplayMode !== 'informative' && a.scoreDisplayMode !== 'notApplicable' && a.scoreDisplayMode !== 'manual')
      .map((a) => a.id),
  };
}

const who = await identity();
const { session: s, paymentId, total, relation } = await session(who);
const browser = await puppeteer.launch({
  executablePath: CHROME,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const pages = {};
try {
  pages.login = await audit(browser, `${WEB_URL}/login`, null);
  pages.payments = await audit(browser, `${WEB_URL}/payments`, s);
  pages.detail = await audit(browser, `${WEB_URL}/payments/${paymentId}`, s);
} finally {
  await browser.close();
}
const report = {
  lighthouse: '12.2.3',
  preset: 'mobile (default: simulated throttling)',
  chrome: CHROME,
  web_url: WEB_URL,
  user: who.source,
  payments_in_scope: `${total}${relation === 'gte' ? '+' : ''}`,
  measured_at: new Date().toISOString(),
  pages,
};
await mkdir(dirname(OUT), { recursive: true });
await writeFile(OUT, `${JSON.stringify(report, null, 2)}\n`);
for (const [name, p] of Object.entries(pages)) {
  console.log(
    `${name.padEnd(9)} performance ${p.scores.performance}  accessibility ${p.scores.accessibility}  best-practices ${p.scores['best-practices']}  FCP ${p.first_contentful_paint_ms} ms  LCP ${p.largest_contentful_paint_ms} ms  TBT ${p.total_blocking_time_ms} ms  CLS ${p.cumulative_layout_shift}`,
  );
}
console.log(`lighthouse: ${report.user}, ${report.payments_in_scope} payments in scope; written to ${OUT}`);
if (MIN !== null) {
  const low = Object.entries(pages).flatMap(([n, p]) => Object.entries(p.scores).filter(([, v]) => v < MIN).map(([c, v]) => `${n} ${c} ${v}`));
  if (low.length > 0) {
    console.error(`lighthouse: below ${MIN}: ${low.join(', ')}`);
    process.exit(1);
  }
}
