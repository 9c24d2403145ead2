import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { DEMO_PASSWORD } from './session';

// Single sign-on through the test identity provider (scripts/e2e starts
// panva's oidc-provider) and approving from the link a chat notification
// carried (the chat receiver scripts/e2e starts keeps every message).
const CHAT = process.env.RAILYARD_E2E_CHAT ?? 'http://127.0.0.1:9';

/** Signs in at the provider's own pages as `login`, after Railyard sent the browser there. */
async function atTheProvider(page: Page, login: string) {
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** A session cookie header for `name` (a demo user, or the admin). */
async function sessionOf(request: APIRequestContext, name: string, password = DEMO_PASSWORD): Promise<string> {
  const response = await request.post('/api/v1/session', { data: { name, password } });
  expect(response.status()).toBe(200);
  return (response.headers()['set-cookie'] ?? '').split(';')[0];
}

/** Registers a build of `service` by `author` with passing tests, through a CI token; answers its id. */
async function build(
  request: APIRequestContext,
  token: string,
  service: string,
  version: string,
  author: string,
): Promise<string> {
  const digest = `sha256:${Buffer.from(version).toString('hex').padEnd(64, '0').slice(0, 64)}`;
  const headers = { authorization: `Bearer ${token}` };
  const created = await request.post('/api/v1/artifacts', {
    headers,
    data: { service, version, digest, commit: 'abc1234', author, changes: [{ title: `vault ${version}` }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id as string;
  const check = await request.post(`/api/v1/artifacts/${id}/checks`, {
    headers,
    data: { kind: 'tests', name: 'unit', status: 'passed' },
  });
  expect(check.status()).toBe(201);
  return id;
}

/** The approval link the chat received for `label` (polls: the train posts it once its gates ran). */
async function linkFromChat(request: APIRequestContext, label: string): Promise<string> {
  let found = '';
  await expect
    .poll(
      async () => {
        const messages = (await (await request.get(`${CHAT}/messages`)).json()) as any[];
        const buttons = messages.flatMap((m) => m.blocks?.[1]?.elements ?? []);
        found = buttons.find((b: any) => b.text?.text === label)?.url ?? '';
        return found;
      },
      { timeout: 30_000 },
    )
    .not.toBe('');
  return found;
}

test('a viewer signs in with single sign-on and sees the calendar', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
  await atTheProvider(page, 'vera');
  await expect(page.locator('#month-title')).toBeVisible();
  await expect(page.locator('.user-name').first()).toHaveText('vera');
  await expect(page.locator('.user-roles:visible')).toHaveText('viewer');
  await page.screenshot({ path: 'screenshots/sso-viewer.png' });
});

test('an approver decides from the chat link after signing in; the link works once and never for the author', async ({
  browser,
  request,
}) => {
  // CI registers two builds; a release manager starts an emergency train that needs approvers.
  const admin = await sessionOf(request, 'admin', 'e2e admin password');
  const minted = await request.post('/api/v1/tokens', { headers: { cookie: admin }, data: { name: 'e2e-ci', scopes: ['ci'] } });
  expect(minted.status(), await minted.text()).toBe(201);
  const token = (await minted.json()).token as string;
  const fix = await build(request, token, 'vault-api', '9.1.0', 'dev@example.com');
  const adas = await build(request, token, 'vault-keys', '9.1.1', 'ada@example.com');
  const manager = await sessionOf(request, 'release-manager');
  const started = await request.post('/api/v1/trains/emergency', {
    headers: { cookie: manager },
    data: { definition: 'vault-weekly', artifacts: [fix, adas], reason: 'rotate the leaked signing key now' },
  });
  expect(started.status(), await started.text()).toBe(201);
  const train = (await started.json()).id as string;

  // Aaron opens the link from the chat, is sent through single sign-on and back, and approves.
  const link = await linkFromChat(request, 'Approve or reject vault-api 9.1.0');
  const aaron = await (await browser.newContext()).newPage();
  await aaron.goto(link);
  await expect(aaron).toHaveURL(/\/login\?next=%2Fapprove%2F|\/login\?next=\/approve\//);
  await atTheProvider(aaron, 'aaron');
  await expect(aaron).toHaveURL(/\/approve\//);
  await expect(aaron.getByRole('heading', { name: 'vault-api 9.1.0' })).toBeVisible();
  await expect(aaron.locator('li[data-gate="compliance"]')).toHaveAttribute('data-state', 'awaiting');
  await expect(aaron.locator('li[data-gate="tests"]')).toHaveAttribute('data-state', 'passed');
  await aaron.screenshot({ path: 'screenshots/approval-link.png', fullPage: true });
  await aaron.getByLabel('Comment (optional)').fill('key rotation reviewed');
  await aaron.getByRole('button', { name: 'Approve', exact: true }).click();
  await expect(aaron.locator('.notice.info')).toContainText('its gate passes');

  // The train's gate passed for that candidate.
  const detail = await (await request.get(`/api/v1/trains/${train}`, { headers: { cookie: manager } })).json();
  const candidate = detail.run.candidates.find((c: any) => c.artifact_id === fix);
  const compliance = candidate.gates.find((g: any) => g.name === 'compliance').state;
  expect(typeof compliance === 'string' ? compliance : compliance.state).toBe('passed');

  // The same link again says it was used.
  await aaron.goto(link);
  await expect(aaron.locator('.link-refused')).toContainText('used already, by aaron');
  await aaron.screenshot({ path: 'screenshots/approval-link-used.png' });

  // Ada authored the other build: her link refuses her.
  const adasLink = await linkFromChat(request, 'Approve or reject vault-keys 9.1.1');
  const ada = await (await browser.newContext()).newPage();
  await ada.goto(adasLink);
  await atTheProvider(ada, 'ada');
  await expect(ada.locator('.link-refused')).toContainText('ada authored vault-keys 9.1.1');
  await expect(ada.getByRole('button', { name: 'Approve', exact: true })).toHaveCount(0);
});

test('the decision page fits a phone', async ({ browser, request }) => {
  const link = await linkFromChat(request, 'Approve or reject vault-keys 9.1.1');
  const phone = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true })).newPage();
  await phone.goto(link);
  await atTheProvider(phone, 'aaron');
  await expect(phone.getByRole('heading', { name: 'vault-keys 9.1.1' })).toBeVisible();
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await phone.screenshot({ path: 'screenshots/approval-link-phone.png', fullPage: true });
});
