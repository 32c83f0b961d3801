#!/usr/bin/env node
// run.mjs — `npm run e2e`: end-to-end tests of the web UI against the running stack at WEB_URL
// (default http://127.0.0.1:8080), in Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
//
//   npm run e2e                      check the stack answers, then run every e2e test
//   npm run e2e -- --project=phone   extra arguments go to `playwright test`
//   npm run e2e -- --check           compile and list the tests; needs neither stack nor browser
//
// It fails at once, saying what is missing, when the stack or the browser is not there.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const WEB_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPORT = fileURLToPath(new URL('../test-results/e2e-report.json', import.meta.url));
const CLI = fileURLToPath(new URL('../node_modules/@playwright/test/cli.js', import.meta.url));

const args = process.argv.slice(2);
const check = args.includes('--check');
const passThrough = args.filter((a) => a !== '--check');

function fail(msg) {
  console.error(`e2e: ${msg}`);
  process.exit(1);
}

function playwright(extra, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'test', ...extra], { cwd: WEB_DIR, stdio: 'inherit', env });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function reachable(url, timeoutMs = 5000) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    return { ok: res.status < 500, status: res.status };
  } catch (err) {
    const cause = err?.cause?.code ?? err?.cause?.message ?? err?.name ?? String(err);
    return { ok: false, status: 0, cause };
  }
}

if (args.includes('--mock')) fail('--mock is gone: the in-memory mock had drifted from the APIs. Run against the real stack (make up).');
if (!existsSync(CLI)) fail('Playwright is not installed; run `npm ci` in web/ first.');

if (check) {
  // Compiles every spec and lists the tests without starting a browser or needing the stack.
  const code = await playwright(['--list', ...passThrough], process.env);
  if (code === 0) console.log('e2e: --check ok (specs compile and list)');
  process.exit(code);
}

const browser = process.env.CHROMIUM_PATH ?? process.env.CHROME_PATH ?? '/usr/bin/chromium';
if (!existsSync(browser)) {
  fail(`no Chromium at ${browser}. Install Debian's: apt-get install -y chromium (or set CHROMIUM_PATH).`);
}

const webUrl = (process.env.WEB_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const checks = [
  ['web UI', `${webUrl}/`],
  ['command API (through the web origin)', `${webUrl}/api/command/healthz`],
  ['query API (through the web origin)', `${webUrl}/api/query/healthz`],
];
const down = [];
for (const [name, url] of checks) {
  const r = await reachable(url);
  if (!r.ok) down.push(`  ${name}: ${url} → ${r.status ? `HTTP ${r.status}` : r.cause}`);
  if (!r.ok && name === 'web UI') break; // nothing behind it will answer either
}
if (down.length) {
  fail(`the stack at WEB_URL=${webUrl} is not reachable:\n${down.join('\n')}\nStart it (make up) or point WEB_URL at a running one.`);
}

await mkdir(fileURLToPath(new URL('../test-results/', import.meta.url)), { recursive: true });
const code = await playwright(passThrough, { ...process.env, WEB_URL: webUrl, CHROMIUM_PATH: browser });

// One closing line in the plain "N passed, N failed" form CI reads.
try {
  const stats = JSON.parse(await readFile(REPORT, 'utf8')).stats ?? {};
  const passed = (stats.expected ?? 0) + (stats.flaky ?? 0);
  const failed = stats.unexpected ?? 0;
  console.log(`e2e: ${passed} passed, ${failed} failed, ${stats.skipped ?? 0} skipped`);
} catch {
  // no report (e.g. the run was interrupted): the exit code says enough
}
process.exit(code);
