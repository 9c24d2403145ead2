import { test, expect, devices, Browser, BrowserContextOptions, Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { signIn } from './session';

// Every page on a phone: at 360 × 740 and as a Pixel 5 (touch, 393 px wide),
// nothing scrolls the page sideways, the top bar's menu reaches every page
// and Sign out, axe-core reports no violation at all, and screenshots are
// written to end2end/screenshots/phone-*.png for a person to look at.

type State = Awaited<ReturnType<import('@playwright/test').BrowserContext['storageState']>>;

const PROFILES: [string, BrowserContextOptions][] = [
  ['360x740', { viewport: { width: 360, height: 740 } }],
  ['pixel5', (({ defaultBrowserType: _ignored, ...rest }) => rest)(devices['Pixel 5'])],
];

/** Signed-in browser states, one sign-in per person for the whole file. */
const states = new Map<string, State>();

async function signedIn(browser: Browser, who: string, profile: BrowserContextOptions): Promise<Page> {
  if (!states.has(who)) {
    const context = await browser.newContext();
    const password = who === 'admin' ? (process.env.RAILYARD_ADMIN_PASSWORD ?? 'e2e admin password') : undefined;
    await signIn(await context.newPage(), who, '/', password);
    states.set(who, await context.storageState());
    await context.close();
  }
  const context = await browser.newContext({ ...profile, storageState: states.get(who) });
  return context.newPage();
}

/** The page fits the screen: no horizontal scrolling of the document. */
async function expectNoSidewaysScroll(page: Page, name: string) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${name}: the page is ${scrollWidth} px wide on a ${innerWidth} px screen`).toBeLessThanOrEqual(innerWidth);
}

/** No axe-core violation of any impact (WCAG 2.0, 2.1 and 2.2 A and AA). */
async function expectNoViolation(page: Page, name: string) {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  const described = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')}`,
  );
  // Where a phone page is judged with the desktop layout, say so: the width the page had.
  const width = await page.evaluate(() => `${window.innerWidth} px, phone layout ${matchMedia('(max-width: 760px)').matches}`);
  expect(described, `${name}: axe-core violations (at ${width})`).toEqual([]);
}

async function firstTrainPath(page: Page): Promise<string> {
  await page.goto('/gates');
  return (await page.locator('.gate-board tbody th a').first().getAttribute('href')) ?? '/';
}

for (const [label, profile] of PROFILES) {
  test.describe(`on a phone (${label})`, () => {
    test('every page fits the screen and passes axe', async ({ browser }) => {
      test.setTimeout(240_000);
      const viewer = await signedIn(browser, 'viewer', profile);
      const train = await firstTrainPath(viewer);
      const pages: [string, string, string][] = [
        ['calendar', '/', '.kpi-card'],
        ['quarter', '/?view=quarter', '.month-grid'],
        ['year', '/?view=year', '.month-grid'],
        ['gates', '/gates', 'table.gate-board'],
        ['budgets', '/budgets', 'table.budgets'],
        ['budget', '/budgets/auth', 'figure.time-chart svg'],
        ['train', train, 'figure.gantt svg'],
        ['account', '/account', 'h1'],
      ];
      for (const [name, path, selector] of pages) {
        await viewer.goto(path);
        await expect(viewer.locator(selector).first(), `${name} shows its content`).toBeVisible();
        await expectNoSidewaysScroll(viewer, name);
        await expectNoViolation(viewer, name);
        await viewer.screenshot({ path: `screenshots/phone-${label}-${name}.png`, fullPage: true });
      }
      await viewer.context().close();

      const manager = await signedIn(browser, 'release-manager', profile);
      await manager.goto('/console');
      await expect(manager.locator('#waiting-title')).toBeVisible();
      await expectNoSidewaysScroll(manager, 'console');
      await expectNoViolation(manager, 'console');
      await manager.screenshot({ path: `screenshots/phone-${label}-console.png`, fullPage: true });
      await manager.goto('/oncall');
      await expect(manager.locator('#oncall-title')).toBeVisible();
      await expect(manager.locator('.report-incident')).toBeVisible();
      await expectNoSidewaysScroll(manager, 'oncall');
      await expectNoViolation(manager, 'oncall');
      // Every action of a train in flight is on screen, not behind a sideways scroll.
      for (const action of await manager.locator('.oncall .console-train .action').all()) {
        const box = await action.boundingBox();
        const width = manager.viewportSize()?.width ?? 0;
        expect((box?.x ?? 0) + (box?.width ?? 0), 'an on-call action fits the screen').toBeLessThanOrEqual(width);
      }
      await manager.screenshot({ path: `screenshots/phone-${label}-oncall.png`, fullPage: true });
      await manager.context().close();

      const admin = await signedIn(browser, 'admin', profile);
      await admin.goto('/admin');
      await expect(admin.locator('h1').first()).toBeVisible();
      await expectNoSidewaysScroll(admin, 'admin');
      await expectNoViolation(admin, 'admin');
      await admin.screenshot({ path: `screenshots/phone-${label}-admin.png`, fullPage: true });
      await admin.context().close();

      const anonymous = await (await browser.newContext(profile)).newPage();
      await anonymous.goto('/login');
      await expect(anonymous.getByLabel('Password')).toBeVisible();
      await expectNoSidewaysScroll(anonymous, 'sign-in');
      await expectNoViolation(anonymous, 'sign-in');
      await anonymous.screenshot({ path: `screenshots/phone-${label}-login.png`, fullPage: true });
      await anonymous.context().close();
    });

    test('the calendar is an agenda of the days with something on them', async ({ browser }) => {
      const page = await signedIn(browser, 'viewer', profile);
      await page.goto('/');
      const days = page.locator('.month-grid td');
      const shown = page.locator('.month-grid td:visible');
      expect(await shown.count()).toBeGreaterThan(0);
      expect(await shown.count(), 'quiet days and other months are left out').toBeLessThan(await days.count());
      // Each shown day is named in full and its trains sit one under another, full width.
      await expect(shown.first().locator('.agenda-date')).toHaveText(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}$/);
      const train = page.locator('.month-grid .train:visible').first();
      const box = await train.boundingBox();
      expect(box?.width ?? 0, 'a train chip takes the width of the screen').toBeGreaterThan(250);
      await expect(page.locator('.next-cutover').first()).toBeVisible();
      await page.context().close();
    });

    test('the menu opens by keyboard and touch and reaches every page and Sign out', async ({ browser }) => {
      // A session of its own: signing out at the end ends it, and other tests reuse theirs.
      const page = await (await browser.newContext(profile)).newPage();
      await signIn(page, 'approver');
      const menu = page.locator('details.nav-menu');
      await expect(page.locator('.main-nav')).toBeHidden();
      await expect(menu.locator('summary')).toBeVisible();
      const summaryBox = await menu.locator('summary').boundingBox();
      expect(summaryBox?.height ?? 0, 'the menu button is a 44 px target').toBeGreaterThanOrEqual(44);
      // By keyboard: focus the summary and press Enter.
      await menu.locator('summary').focus();
      await page.keyboard.press('Enter');
      await expect(menu).toHaveAttribute('open', '');
      await page.keyboard.press('Enter');
      await expect(menu).not.toHaveAttribute('open', '');
      for (const [name, heading] of [
        ['Gates', /gate/i],
        ['Budgets', /budget/i],
        ['Console', /console/i],
        ['Calendar', /\d{4}/],
      ] as [string, RegExp][]) {
        await menu.locator('summary').click();
        const link = page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name, exact: true });
        await expect(link).toBeVisible();
        const box = await link.boundingBox();
        expect(box?.height ?? 0, `${name} is a 44 px target`).toBeGreaterThanOrEqual(44);
        await link.click();
        await expect(page.locator('h1').first()).toHaveText(heading);
        await expectNoSidewaysScroll(page, `${name} from the menu`);
      }
      await menu.locator('summary').click();
      await expect(menu.locator('.user-name')).toHaveText('approver');
      await menu.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/login\?signed_out=1/);
      await page.context().close();
    });
  });
}
