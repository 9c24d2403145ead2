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

/** `YYYY-MM-DD` and `YYYY-MM` of the day `days` from now (UTC). */
function dayAhead(days: number): { day: string; month: string } {
  const at = new Date(Date.now() + days * 86_400_000).toISOString();
  return { day: at.slice(0, 10), month: at.slice(0, 7) };
}

test('the year view shows projected trains past the scheduler horizon, labelled as projected', async ({ page }) => {
  const errors = watchErrors(page);
  // The scheduler creates trains 90 days ahead; seven months ahead only the cadences speak.
  const { month } = dayAhead(210);
  await page.goto(`/?view=year&month=${month}`);
  await waitForHydration(page, 'Europe/Berlin');
  const grid = page.locator(`table.month-grid[data-month="${month}"]`);
  const projected = grid.locator('.train.state-projected');
  expect(await projected.count()).toBeGreaterThan(6);
  expect(await grid.locator('.train:not(.state-projected)').count()).toBe(0);
  const weekly = projected.filter({ hasText: 'payments-weekly' }).first();
  await expect(weekly.locator('.train-state')).toContainText('projected');
  await expect(weekly).toHaveAttribute('title', /projected from its cadence \(no train created yet\)/);
  await expect(weekly.locator('.train-own-time')).toHaveText(/^03:00 CES?T$/);
  await expect(weekly.locator('a')).toHaveCount(0);
  await expect(page.locator('.legend-projected')).toContainText('projected: from the cadence, no train yet');
  await weekly.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'screenshots/year-projected.png' });
  expect(errors).toEqual([]);
});

test('the dashboard names the next train that can carry a change ready on a day', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await waitForHydration(page, 'Europe/Berlin');
  const form = page.locator('.next-train-form');
  const answer = page.locator('.next-train-answer');

  // Seven months ahead: identity's Thursday train, projected, at 10:00 in New York.
  const { day } = dayAhead(210);
  await form.getByLabel('Domain').selectOption('identity');
  await form.getByLabel('Ready on').fill(day);
  await form.getByRole('button', { name: 'Find the train' }).click();
  const [y, m, d] = day.split('-').map(Number);
  const wording = new Date(Date.UTC(y, m - 1, d)).toLocaleDateString('en-GB', {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
  }).replace(',', '');
  await expect(answer).toContainText(`A change of identity ready by the end of ${wording} (Europe/Berlin):`);
  await expect(answer.locator('.next-train-found')).toContainText('identity-weekly (projected from its cadence; no train yet)');
  await expect(answer.locator('.cutover-own')).toHaveText(/^Thu \d{1,2} [A-Z][a-z]{2} \d{4} 10:00 E[DS]T \(America\/New_York\)$/);
  await expect(answer.locator('.cutover-viewer')).toHaveText(/^Thu \d{1,2} [A-Z][a-z]{2} \d{4} 1[56]:00 CES?T \(Europe\/Berlin\)$/);
  // It is the first Thursday after the ready day.
  const cutover = (await answer.locator('.cutover-own').textContent()) ?? '';
  const cutoverDay = new Date(`${cutover.split(' ').slice(1, 4).join(' ')} UTC`).getTime();
  const readyDay = Date.UTC(y, m - 1, d);
  expect(cutoverDay).toBeGreaterThan(readyDay);
  expect(cutoverDay - readyDay).toBeLessThanOrEqual(7 * 86_400_000);
  await page.screenshot({ path: 'screenshots/next-train.png' });

  // Ready today: a real train, with its page a click away.
  await form.getByLabel('Ready on').fill(dayAhead(0).day);
  await form.getByRole('button', { name: 'Find the train' }).click();
  await expect(answer.locator('.next-train-found a[href^="/trains/"]')).toHaveText('identity-weekly');

  expect(errors).toEqual([]);

  // A day beyond the plan gets a sentence (the browser logs the 400 itself).
  await form.getByLabel('Ready on').fill(dayAhead(500).day);
  await form.getByRole('button', { name: 'Find the train' }).click();
  await expect(answer.getByRole('alert')).toContainText('more than 400 days ahead');
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
