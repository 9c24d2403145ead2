import { defineConfig } from '@playwright/test';

// Railyard's browser tests run Debian's Chromium (never a downloaded browser)
// against a server that scripts/test starts on loopback (RAILYARD_E2E_URL).
export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: process.env.RAILYARD_E2E_URL ?? 'http://127.0.0.1:3000',
    timezoneId: 'Europe/Berlin',
    locale: 'en-GB',
    viewport: { width: 1400, height: 1000 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
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
  projects: [{ name: 'chromium' }],
});
