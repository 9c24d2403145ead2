import { test, expect, Page } from '@playwright/test';
import { signIn } from './session';

// Leadership reads the calendar with the viewer role.
test.beforeEach(async ({ page }) => {
  await signIn(page, 'viewer');
});

/** Collects page errors and console errors; a page that hydrates cleanly has none. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Hydration is done when the browser has filled in the viewer's time zone. */
async function waitForHydration(page: Page, zone: string) {
  await expect(page.locator('.viewer-zone')).toHaveText(zone);
}

/** HH:MM of an instant in a zone, computed here in Node, independently of the page. */
function clockTime(epochMs: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(epochMs),
  );
}

test('the calendar shows the demo trains of every domain and a freeze', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(page.locator('#month-title')).toHaveText(/^[A-Z][a-z]+ \d{4}$/);
  for (const domain of ['payments', 'search', 'identity', 'mobile-api']) {
    await expect(page.locator('.legend')).toContainText(domain);
  }
  expect(await page.locator('.train').count()).toBeGreaterThan(6);
  await expect(page.locator('.day.today')).toHaveCount(1);
  await expect(page.locator('.day.frozen').first()).toBeVisible();
  await expect(page.locator('.freeze-list li').first()).toBeVisible();
  await waitForHydration(page, 'Europe/Berlin');
  expect(errors).toEqual([]);
});

test('next month is shown without a page load once hydrated', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await waitForHydration(page, 'Europe/Berlin');
  const thisMonth = (await page.locator('#month-title').textContent()) ?? '';
  // A full page load would wipe this marker; client-side navigation keeps it.
  await page.evaluate(() => ((window as unknown as { railyardMarker: string }).railyardMarker = 'still here'));
  await page.locator('a.nav-next').click();
  await expect(page).toHaveURL(/\?month=\d{4}-\d{2}$/);
  await expect(page.locator('#month-title')).not.toHaveText(thisMonth);
  await expect(page.locator('.train').first()).toBeVisible();
  const marker = await page.evaluate(() => (window as unknown as { railyardMarker?: string }).railyardMarker);
  expect(marker).toBe('still here');
  await page.screenshot({ path: 'screenshots/calendar-next-month.png', fullPage: true });
  await page.locator('a.nav-previous').click();
  await expect(page.locator('#month-title')).toHaveText(thisMonth);
  await page.screenshot({ path: 'screenshots/calendar.png', fullPage: true });
  expect(errors).toEqual([]);
});

test.describe('in New York', () => {
  test.use({ timezoneId: 'America/New_York' });

  test('cutover times are shown in the viewer zone beside the train zone', async ({ page }) => {
    await page.goto('/');
    await waitForHydration(page, 'America/New_York');
    const payments = page.locator('.train[title^="payments-weekly"]').first();
    const at = Number(await payments.getAttribute('data-cutover-at'));
    await expect(payments.locator('.viewer-time')).toHaveText(clockTime(at, 'America/New_York'));
    await expect(payments.locator('.train-own-time')).toHaveText(/^03:00 CES?T$/);
    expect(clockTime(at, 'Europe/Berlin')).toBe('03:00');
    await page.screenshot({ path: 'screenshots/calendar-new-york.png', fullPage: true });
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the server-rendered page navigates with plain links', async ({ page }) => {
    // Signed in by the plain form in beforeEach: that works without JavaScript too.
    await page.goto('/?month=2026-11');
    await expect(page.locator('#month-title')).toHaveText('November 2026');
    await expect(page.locator('.viewer-zone')).toHaveText('UTC');
    await page.locator('a.nav-next').click();
    await expect(page.locator('#month-title')).toHaveText('December 2026');
  });
});
