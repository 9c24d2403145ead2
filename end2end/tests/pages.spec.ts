import { test, expect, Page, Browser } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { signIn } from './session';

// Every page as its users see it: content, navigation without a reload,
// accessibility (axe-core: no serious or critical violation), and
// screenshots at desktop and phone width in end2end/screenshots/.

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1400, height: 1000 };

/** The viewer's signed-in browser state, made once: every sign-in counts against the address's rate limit. */
let viewerState: Awaited<ReturnType<import('@playwright/test').BrowserContext['storageState']>> | undefined;

/** A new page signed in as the viewer. */
async function viewerPage(browser: Browser): Promise<Page> {
  if (!viewerState) {
    const context = await browser.newContext();
    await signIn(await context.newPage(), 'viewer');
    viewerState = await context.storageState();
    await context.close();
  }
  const context = await browser.newContext({ storageState: viewerState });
  return context.newPage();
}

/** Fails on any serious or critical axe-core violation, listing them. */
async function expectAccessible(page: Page, name: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const grave = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const described = grave.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`);
  expect(described, `${name}: axe-core violations`).toEqual([]);
}

/** Screenshots of the current page at desktop and phone width. */
async function screenshots(page: Page, name: string) {
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: `screenshots/${name}-desktop.png`, fullPage: true });
  await page.setViewportSize(PHONE);
  await page.screenshot({ path: `screenshots/${name}-phone.png`, fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Marks the window; a full page load would wipe the mark. */
async function markWindow(page: Page) {
  await page.evaluate(() => ((window as unknown as { railyardMarker: string }).railyardMarker = 'kept'));
}

async function expectSameWindow(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { railyardMarker?: string }).railyardMarker)).toBe('kept');
}

async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

test('the executive dashboard: next cutovers count down, KPIs with trends, budgets per domain', async ({ browser }) => {
  const page = await viewerPage(browser);
  // A controllable clock: the countdowns tick on the browser's own timers.
  await page.clock.install();
  await page.goto('/');
  await expect(page.locator('.next-cutover').first()).toBeVisible();
  for (const code of ['M1 · release success', 'M3 · mean time to roll back', 'M10 · security gate pass rate']) {
    await expect(page.locator('.kpi-card', { hasText: code })).toBeVisible();
  }
  await expect(page.locator('.kpi-card .kpi-trend').first()).toContainText(/28 days before|no earlier figure/);
  await expect(page.locator('.domain-budget-status li', { hasText: 'search' })).toContainText('exhausted: ranking');
  await hydrated(page);
  // The countdown ticks in the browser: two hours later the furthest cutover is two hours nearer.
  const furthest = page.locator('.next-cutover .countdown').last();
  const before = (await furthest.textContent()) ?? '';
  expect(before).toMatch(/^in \d+ d \d+ h$/);
  await page.clock.fastForward('02:00:00');
  await expect(furthest).not.toHaveText(before);
  await expect(furthest).toHaveText(/^in \d+ d \d+ h$/);
  await expectAccessible(page, 'dashboard');
  await screenshots(page, 'dashboard');
  // The dark theme reads as well.
  await page.emulateMedia({ colorScheme: 'dark' });
  await expectAccessible(page, 'dashboard (dark)');
  await page.screenshot({ path: 'screenshots/dashboard-dark.png', fullPage: true });
});

test('the calendar filters by domain and shows a quarter', async ({ browser }) => {
  const page = await viewerPage(browser);
  await page.goto('/');
  await hydrated(page);
  await page.getByLabel('Domain', { exact: true }).selectOption('search');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/domain=search/);
  await expect(page.locator('.legend li').first()).toHaveText('search');
  const domains = await page.locator('.month-grid .train').evaluateAll((chips) =>
    chips.map((chip) => chip.getAttribute('title') ?? ''),
  );
  expect(domains.length).toBeGreaterThan(0);
  expect(domains.every((title) => title.includes('(search)'))).toBe(true);
  await hydrated(page);
  await markWindow(page);
  await page.getByRole('link', { name: 'Quarter' }).click();
  await expect(page.locator('table.month-grid')).toHaveCount(3);
  await expect(page.locator('#month-title')).toContainText('–');
  await expectSameWindow(page);
  await expectAccessible(page, 'calendar quarter');
  await screenshots(page, 'calendar-quarter');
});

test('the gate board drills into a gate run without a reload', async ({ browser }) => {
  const page = await viewerPage(browser);
  await page.goto('/gates');
  await expect(page.locator('table.gate-board')).toBeVisible();
  await expect(page.locator('.gate-board thead th', { hasText: 'tests' })).toBeVisible();
  await expect(page.locator('.flakiness-table')).toBeVisible();
  await hydrated(page);
  await markWindow(page);
  await page.locator('td.gate-cell a').first().click();
  await expect(page.locator('#evidence')).toBeVisible();
  await expect(page.locator('#evidence .evidence-runs tbody tr').first()).toBeVisible();
  await expectSameWindow(page);
  await expectAccessible(page, 'gate board');
  await screenshots(page, 'gates');
});

test('error budgets: the overview and one service with its charts', async ({ browser }) => {
  const page = await viewerPage(browser);
  await page.goto('/budgets');
  await expect(page.locator('.budget-line', { hasText: 'ranking' })).toContainText('exhausted');
  await expectAccessible(page, 'budgets');
  await screenshots(page, 'budgets');
  await markWindow(page);
  await page.getByRole('link', { name: 'auth', exact: true }).click();
  await expect(page.locator('h1')).toHaveText('auth error budget');
  await expectSameWindow(page);
  const charts = page.locator('figure.time-chart svg');
  await expect(charts).toHaveCount(2);
  await expect(page.locator('figure.time-chart').first()).toContainText('budget left');
  await expect(page.locator('figure.time-chart').nth(1)).toContainText('fast burn 14.4×');
  expect(await page.locator('figure.time-chart').first().locator('polyline.series').getAttribute('points')).toContain(',');
  await expectAccessible(page, 'service budget');
  await screenshots(page, 'budget-auth');
});

test('a train page tells the whole story: phases, cargo, approvals, notes, audit', async ({ browser }) => {
  const page = await viewerPage(browser);
  await page.goto('/gates');
  await page.locator('.gate-board tbody th a').first().click();
  await expect(page.locator('.train-page h1')).toBeVisible();
  for (const heading of ['Phases', 'Cargo', 'Approvals', 'Rollout', 'Release notes', 'Timeline', 'Audit trail']) {
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  }
  await expect(page.locator('figure.gantt svg rect').first()).toBeVisible();
  await expectAccessible(page, 'train page');
  await screenshots(page, 'train');
});

test('the console as a release manager passes axe and fits a phone', async ({ page }) => {
  await signIn(page, 'release-manager', '/console');
  await expect(page.locator('#waiting-title')).toBeVisible();
  await expectAccessible(page, 'console');
  await screenshots(page, 'console');
});

/** Signed embed links to `panels` (name and parameters), made through the API by one admin sign-in. */
async function embedLinks(browser: Browser, panels: [string, Record<string, string>][]): Promise<string[]> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'admin', '/', process.env.RAILYARD_ADMIN_PASSWORD ?? 'e2e admin password');
  await page.request.post('/api/v1/embed/origins', { data: { origin: 'https://wiki.example.com' } });
  const paths: string[] = [];
  for (const [panel, params] of panels) {
    const response = await page.request.post('/api/v1/embed/links', {
      data: { panel, params, audience: 'https://wiki.example.com', expires_in: '1d' },
    });
    expect(response.status()).toBe(201);
    paths.push((await response.json()).path);
  }
  await context.close();
  return paths;
}

test('embedded panels read at 320×200 and never navigate out', async ({ browser }) => {
  const trainPath = await (async () => {
    const page = await viewerPage(browser);
    await page.goto('/gates');
    const href = await page.locator('.gate-board tbody th a').first().getAttribute('href');
    await page.context().close();
    return href ?? '';
  })();
  const panels: [string, string, Record<string, string>, string][] = [
    ['calendar', 'calendar', {}, '.month-grid'],
    ['countdown', 'countdown', { definition: 'payments-weekly' }, '.countdown-big'],
    ['train', 'train', { id: trainPath.replace('/trains/', '') }, '.embed-train'],
    ['budget', 'budget', { service: 'auth' }, 'figure.time-chart svg'],
  ];
  const paths = await embedLinks(
    browser,
    panels.map(([, panel, params]) => [panel, params]),
  );
  for (const [index, [name, , , selector]] of panels.entries()) {
    const path = paths[index];
    const context = await browser.newContext({ viewport: { width: 320, height: 200 } });
    const page = await context.newPage();
    await page.goto(path);
    await expect(page.locator(selector).first()).toBeVisible();
    await expect(page.locator('header.topbar')).toHaveCount(0);
    expect(await page.locator('a[href^="/trains/"], a[href^="/?"]').count()).toBe(0);
    const { scrollWidth, innerWidth } = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      innerWidth: window.innerWidth,
    }));
    expect(scrollWidth, `embedded ${name} is ${scrollWidth} px wide in a ${innerWidth} px frame`).toBeLessThanOrEqual(innerWidth);
    await expectAccessible(page, `embedded ${name}`);
    await page.screenshot({ path: `screenshots/embed-${name}-320x200.png` });
    await context.close();
  }
});

test('sign-in, admin and account pages pass axe and fit a phone', async ({ page }) => {
  await page.goto('/login');
  await expect(page.getByLabel('Password')).toBeVisible();
  await expectAccessible(page, 'sign-in');
  await screenshots(page, 'login');
  await signIn(page, 'admin', '/admin', process.env.RAILYARD_ADMIN_PASSWORD ?? 'e2e admin password');
  await expect(page.locator('h1').first()).toBeVisible();
  await expectAccessible(page, 'admin');
  await screenshots(page, 'admin');
  await page.goto('/account');
  await expect(page.locator('h1').first()).toBeVisible();
  await expectAccessible(page, 'account');
  await screenshots(page, 'account');
});

test('every page is readable before (and without) the wasm', async ({ browser }) => {
  const page = await viewerPage(browser);
  await page.goto('/gates');
  const train = (await page.locator('.gate-board tbody th a').first().getAttribute('href')) ?? '/';
  await page.context().close();
  const context = await browser.newContext({ javaScriptEnabled: false, storageState: viewerState });
  const noScript = await context.newPage();
  const pages: [string, string][] = [
    ['/', '.kpi-card'],
    ['/?view=quarter', 'table.month-grid'],
    ['/gates', 'table.gate-board'],
    ['/budgets', 'table.budgets'],
    ['/budgets/auth', 'figure.time-chart svg polyline'],
    [train, 'figure.gantt svg'],
    ['/console', '.console-trains'],
  ];
  for (const [path, selector] of pages) {
    await noScript.goto(path);
    await expect(noScript.locator(selector).first(), `${path} without JavaScript`).toBeAttached();
  }
  await context.close();
});
