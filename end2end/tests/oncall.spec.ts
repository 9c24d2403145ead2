import { test, expect } from '@playwright/test';
import { signIn } from './session';

// The on-call page as the release manager on call uses it: a live train's
// step, the alert its hold raises (the e2e server tickets holds after 5 s),
// and a rollback from the page that takes the train out of "deploying now".

test('on call shows a live train with its step, the alert a hold raises, and a rollback that works', async ({ page }) => {
  test.setTimeout(240_000);
  await signIn(page, 'release-manager', '/oncall');
  await expect(page.locator('#oncall-title')).toHaveText('On call');
  // The demo's live identity train reaches its canary within a minute or two.
  const canary = page.locator('.oncall-service .console-train.phase-canary').first();
  await expect(canary).toBeVisible({ timeout: 180_000 });
  const trainId = await canary.getAttribute('data-train');
  const train = page.locator(`.oncall-service .console-train[data-train="${trainId}"]`).first();
  await expect(train).toContainText(/\d of \d: .*canary/);
  await expect(train.locator('summary.action-roll_back')).toBeVisible();

  await train.locator('summary.action-hold').click();
  await train.locator('details.confirm[open] input[name="reason"]').fill('checking the error dashboards');
  await train.locator('details.confirm[open] button.confirm-button').click();
  await expect(train.locator('.phase')).toHaveText('held');
  const alert = page.locator('.oncall-alerts li.severity-ticket', { hasText: `train ${trainId}` }).first();
  await expect(alert).toContainText('has been held', { timeout: 30_000 });
  await expect(alert.locator('.severity')).toHaveText('TICKET');
  await page.screenshot({ path: 'screenshots/oncall-held.png', fullPage: true });

  await train.locator('summary.action-roll_back').click();
  await train.locator('details.confirm[open] input[name="reason"]').fill('errors after the canary');
  await train.locator('details.confirm[open] button.confirm-button').click();
  await expect(page.locator(`.console-train[data-train="${trainId}"]`)).toHaveCount(0, { timeout: 60_000 });
  await expect(page.locator('.oncall-alerts li', { hasText: `train ${trainId}` })).toHaveCount(0, { timeout: 30_000 });
  await page.goto(`/trains/${trainId}`);
  await expect(page.locator('.timeline')).toContainText('rollback by user:release-manager: errors after the canary');
});

test('a viewer reads the on-call page but is offered no action and no form', async ({ page }) => {
  await signIn(page, 'viewer', '/oncall');
  await expect(page.locator('#oncall-title')).toHaveText('On call');
  await expect(page.locator('.quiet-services, .oncall-service').first()).toBeVisible();
  await expect(page.locator('.oncall .action')).toHaveCount(0);
  await expect(page.locator('.report-incident')).toHaveCount(0);
});

test('a release manager reports an incident from the console and resolves it there', async ({ page }) => {
  await signIn(page, 'release-manager', '/console');
  const desk = page.locator('.incident-desk');
  await expect(desk.locator('#incidents-title')).toHaveText('Open incidents');
  await desk.locator('select[name="service"]').selectOption('ledger');
  await desk.locator('input[name="title"]').fill('ledger slow for EU customers');
  await desk.getByRole('button', { name: 'Report' }).click();
  await expect(desk.locator('[role="status"]')).toContainText('incident of ledger reported');
  const item = desk.locator('li.incident', { hasText: 'ledger slow for EU customers' });
  await expect(item).toBeVisible();
  await expect(item).toContainText('ledger ·');
  await item.getByRole('button', { name: 'Resolve' }).click();
  await expect(desk.locator('[role="status"]')).toContainText('incident of ledger resolved after');
  await expect(item).toHaveCount(0);
});
