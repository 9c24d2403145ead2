import { test, expect, Page } from '@playwright/test';
import { signIn } from './session';

/** Opens the console and waits for it to be hydrated (the forms then run in place). */
async function openConsole(page: Page, name: string) {
  await signIn(page, name, '/console');
  await expect(page.locator('#console-title')).toHaveText('Console');
  await expect(page.locator('.console-train').first()).toBeVisible();
  await expect(page.locator('.viewer-zone, body')).toBeTruthy();
}

test('a viewer sees the trains in flight but is offered no action', async ({ page }) => {
  await openConsole(page, 'viewer');
  expect(await page.locator('.console-train').count()).toBeGreaterThan(0);
  await expect(page.locator('.console-train .action')).toHaveCount(0);
  await expect(page.locator('summary.action-break-glass')).toHaveCount(0);
  await expect(page.locator('.waiting .empty')).toHaveText('Nothing waits for you.');
  await page.screenshot({ path: 'screenshots/console-viewer.png', fullPage: true });
});

test('a release manager holds and resumes a train, and aborting asks for a reason', async ({ page }) => {
  await openConsole(page, 'release-manager');
  await expect(page.locator('.console .action-approve')).toHaveCount(0);
  await expect(page.locator('summary.action-break-glass')).toBeVisible();
  // The payments live-demo train stays in planning for minutes; the identity one moves in seconds.
  const row = page.locator('.console-train.phase-planning', { hasText: 'payments-live-demo' }).first();
  const trainId = await row.getAttribute('data-train');
  const train = page.locator(`.console-train[data-train="${trainId}"]`);
  await train.locator('summary.action-hold').click();
  await train.locator('details.confirm[open] input[name="reason"]').fill('waiting for the ledger fix');
  await train.locator('details.confirm[open] button.confirm-button').click();
  await expect(train.locator('.phase')).toHaveText('held');
  await expect(train.locator('.waiting-reason')).toContainText('held by user:release-manager: waiting for the ledger fix');
  await expect(train.locator('button.action-resume')).toBeVisible();
  await page.screenshot({ path: 'screenshots/console-release-manager.png', fullPage: true });
  await train.locator('button.action-resume').click();
  await expect(train.locator('.phase')).toHaveText('planning');
  // The train page tells the same story.
  const story = await page.context().newPage();
  await story.goto(`/trains/${trainId}`);
  await expect(story.locator('.timeline')).toContainText('held by user:release-manager: waiting for the ledger fix');
  await expect(story.locator('.audit-excerpt')).toContainText('train.operator_action');
  await story.close();

  await train.locator('summary.action-abort').click();
  const confirm = train.locator('details.confirm[open] button.confirm-button');
  await expect(confirm).toHaveText('Confirm: abort');
  // The reason is required: an empty one is not sent.
  await confirm.click();
  await expect(train.locator('.phase')).toHaveText('planning');
  await expect(train.locator('details.confirm[open] input[name="reason"]')).toBeFocused();
  // Blanks pass the browser's length check but not the server's: the refusal shows beside the button.
  await train.locator('details.confirm[open] input[name="reason"]').fill('   ');
  await confirm.click();
  await expect(train.locator('.action-error')).toContainText('this action needs a reason');
  await expect(train.locator('.phase')).toHaveText('planning');
});

test('a release manager for payments is offered actions on payments trains only', async ({ page }) => {
  await openConsole(page, 'payments-rm');
  const rows = page.locator('.console-train');
  const count = await rows.count();
  let offered = 0;
  for (let i = 0; i < count; i++) {
    const row = rows.nth(i);
    const domain = (await row.locator('td').first().textContent())?.trim();
    const actions = await row.locator('.action').count();
    if (domain === 'payments') offered += actions;
    else expect(actions, `no actions on a ${domain} train`).toBe(0);
  }
  expect(offered).toBeGreaterThan(0);
  await expect(page.locator('.request-glass select option')).toHaveText(['payments']);
  // Each train names whom to call for its services, with their runbooks.
  const contact = page.locator('.console-train', { hasText: 'payments-live-demo' }).locator('li.contact').first();
  await expect(contact).toContainText('on call: #');
  await expect(contact.locator('a', { hasText: 'runbook' })).toHaveAttribute('href', /^https:\/\/wiki\.example\.com\/runbooks\//);
});

test('a break-glass asked by a release manager waits for the approver, who cannot approve twice', async ({ browser }) => {
  const manager = await browser.newPage();
  await openConsole(manager, 'release-manager');
  await manager.locator('summary.action-break-glass').click();
  await manager.locator('.request-glass select').selectOption('search');
  await manager.locator('.request-glass input[name="reason"]').fill('index corruption fix must ship in the freeze');
  await manager.locator('.request-glass button.danger').click();
  await expect(manager.locator('.break-glass-list li').first()).toContainText('index corruption fix');
  await expect(manager.locator('.break-glass-waiting li')).toHaveCount(0);

  const approver = await browser.newPage();
  await openConsole(approver, 'approver');
  await expect(approver.locator('.console-train .action')).toHaveCount(0);
  const request = approver.locator('.glass-request', { hasText: 'index corruption fix' });
  await expect(request).toBeVisible();
  await approver.screenshot({ path: 'screenshots/console-approver.png', fullPage: true });
  await request.locator('button.action-approve').click();
  await expect(approver.locator('.glass-request', { hasText: 'index corruption fix' })).toHaveCount(0);
  await expect(approver.locator('.break-glass-list li').first()).toContainText('approved by approver');
  // The manager's console shows the approval within two seconds, without a reload.
  await expect(manager.locator('.break-glass-list li').first()).toContainText('approved by approver', { timeout: 5_000 });
});

test('a release manager starts an emergency train from the console for a ticked candidate', async ({ page }) => {
  await openConsole(page, 'payments-rm');
  const forms = page.locator('details.start-emergency');
  const definitions = await forms.evaluateAll((all) => all.map((f) => f.getAttribute('data-definition')));
  expect(definitions.length).toBeGreaterThan(0);
  for (const name of definitions) expect(name, 'payments definitions only').toMatch(/^payments-/);
  const form = page.locator('details.start-emergency[data-definition="payments-weekly"]');
  await form.locator('summary').click();
  const first = form.locator('input[type="checkbox"]').first();
  await first.check();
  const candidate = (await form.locator('label.candidate-choice').first().textContent())?.trim() ?? '';
  await form.locator('input[name="reason"]').fill('card outage: hotfix cannot wait for Tuesday');
  await page.screenshot({ path: 'screenshots/console-emergency-form.png', fullPage: true });
  await form.locator('button.danger').click();
  const started = page.locator('.console-train', { hasText: 'EMERGENCY' }).filter({ hasText: 'payments-weekly' });
  await expect(started.first()).toBeVisible();
  expect(candidate).not.toBe('');
});

test('a release manager rehearses a train on staging from the console', async ({ page }) => {
  await openConsole(page, 'payments-rm');
  const form = page.locator('details.start-rehearsal[data-definition="payments-weekly"]');
  await form.locator('summary').click();
  await expect(form).toContainText('nothing reaches production');
  await form.locator('input[name="reason"]').fill('game day before the ledger migration');
  await form.locator('button[type="submit"]').click();
  const started = page.locator('.console-train', { hasText: 'REHEARSAL' }).filter({ hasText: 'payments-weekly' });
  await expect(started.first()).toBeVisible();
  await page.screenshot({ path: 'screenshots/console-rehearsal.png', fullPage: true });
});

test('a release manager previews what a freeze would hold before declaring it', async ({ page }) => {
  await openConsole(page, 'payments-rm');
  const freeze = page.locator('details.declare-freeze');
  await freeze.locator('summary').click();
  // Every domain needs a release manager of every domain; this one may freeze payments only.
  await expect(freeze.locator('select[name="form[domain]"] option')).toHaveText(['payments']);
  // Over the live payments train's cutover (about twenty minutes from the server's start).
  const now = new Date();
  const local = (d: Date) => d.toISOString().slice(0, 16);
  await freeze.locator('input[name="form[name]"]').fill('e2e-ledger-migration');
  await freeze.locator('input[name="form[starts]"]').fill(local(new Date(now.getTime() - 60 * 60_000)));
  await freeze.locator('input[name="form[ends]"]').fill(local(new Date(now.getTime() + 6 * 60 * 60_000)));
  await freeze.locator('input[name="form[reason]"]').fill('ledger schema migration');
  await freeze.locator('button.action-preview').click();
  const impact = freeze.locator('.freeze-impact');
  await expect(impact).toContainText('e2e-ledger-migration would hold');
  await expect(impact.locator('li.impact', { hasText: 'payments-live-demo' })).toBeVisible();
  await page.screenshot({ path: 'screenshots/console-freeze-preview.png', fullPage: true });
  await impact.locator('button.confirm-freeze').click();
  await expect(freeze.locator('p.notice')).toContainText('freeze e2e-ledger-migration declared');
});

test('the train page shows a train from the console: cargo, rollout, analyses and timeline', async ({ page }) => {
  await openConsole(page, 'viewer');
  const link = page.locator('.console-train', { hasText: 'identity-live-demo' }).locator('th a').first();
  await link.click();
  await expect(page).toHaveURL(/\/trains\//);
  await expect(page.locator('.train-page h1')).toContainText('identity-live-demo');
  await expect(page.locator('#cargo-title')).toHaveText('Cargo');
  await expect(page.locator('.steps li')).toHaveCount(4);
  await expect(page.locator('.timeline li').first()).toContainText('live demo train opened');
  // The live train's staging step is judged within seconds; its analysis carries a chart.
  await expect(page.locator('.analysis svg.chart').first()).toBeVisible({ timeout: 30_000 });
  await page.screenshot({ path: 'screenshots/train-page.png', fullPage: true });
});

test('a release manager rolls back one service of a live train while the form stays open and the rest goes on', async ({ page }) => {
  test.setTimeout(150_000);
  await openConsole(page, 'release-manager');
  // The identity live train offers it once its staging step is deployed (within about 20 s of opening).
  const offered = page
    .locator('.console-train', { hasText: 'identity-live-demo', has: page.locator('summary.action-roll_back_service') })
    .first();
  await expect(offered).toBeVisible({ timeout: 100_000 });
  const trainId = await offered.getAttribute('data-train');
  const train = page.locator(`.console-train[data-train="${trainId}"]`);
  await train.locator('summary.action-roll_back_service').click();
  const form = train.locator('details.confirm[open]');
  await expect(form.locator('select[name="service"] option')).toHaveText(['auth', 'sessions']);
  await form.locator('select[name="service"]').selectOption('sessions');
  await form.locator('input[name="reason"]').fill('sessions drops logins');
  // The console refreshes every two seconds; the open form survives it.
  await page.waitForTimeout(4_500);
  await expect(form.locator('input[name="reason"]')).toHaveValue('sessions drops logins');
  await page.screenshot({ path: 'screenshots/console-roll-back-one-service.png', fullPage: true });
  await form.locator('button.confirm-button').click();
  await expect(train.locator('summary.action-roll_back_service')).toHaveCount(0);
  const story = await page.context().newPage();
  await story.goto(`/trains/${trainId}`);
  await expect(story.locator('.timeline')).toContainText(
    'rolling back sessions alone, by user:release-manager: sessions drops logins',
  );
  await expect(story.locator('.timeline')).toContainText('sessions rolled back in');
  await expect(story.locator('.missed-reason')).toContainText('rolled back by user:release-manager: sessions drops logins');
  await story.close();
});
