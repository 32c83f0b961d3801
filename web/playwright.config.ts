import { defineConfig } from '@playwright/test';

// End-to-end tests against a running stack at WEB_URL, driven through Debian's Chromium
// (Playwright's own browser download does not work on our machines). Run them with
// `npm run e2e`, which checks the stack is reachable first (e2e/run.mjs).
const WEB_URL = process.env.WEB_URL ?? 'http://127.0.0.1:8080';
const executablePath = process.env.CHROMIUM_PATH ?? process.env.CHROME_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: './e2e',
  outputDir: './test-results/artifacts',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  // One browser at a time: the stack under test shares this machine's two cores.
  workers: 1,
  // On CI's loaded two-core machine one retry tells a flake (reported as flaky) from a failure.
  retries: process.env.CI ? 1 : 0,
  forbidOnly: Boolean(process.env.CI),
  reporter: [['list'], ['json', { outputFile: './test-results/e2e-report.json' }]],
  use: {
    baseURL: WEB_URL,
    locale: 'en-GB',
    timezoneId: 'Europe/Copenhagen',
    acceptDownloads: true,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    // Playwright gives every browser a fresh temporary --user-data-dir of its own.
    launchOptions: {
      executablePath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    {
      name: 'desktop',
      testIgnore: /phone\.spec\.ts/,
      use: { viewport: { width: 1366, height: 900 } },
    },
    {
      name: 'phone',
      testMatch: /phone\.spec\.ts/,
      use: { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
    },
  ],
});
