import { test, expect } from '@playwright/test';
import { DEMO_PASSWORD, signIn } from './session';

test('an anonymous visitor is sent to sign in and comes back to the page asked for', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto('/?month=2026-12');
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.screenshot({ path: 'screenshots/login.png', fullPage: true });
  await page.getByLabel('Name').fill('viewer');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.notice.error')).toHaveText('Wrong name or password.');
  await page.getByLabel('Name').fill('viewer');
  await page.getByLabel('Password').fill(DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#month-title')).toHaveText('December 2026');
  // The content security policy lets the hydration script run: the zone is filled in by the wasm.
  await expect(page.locator('.viewer-zone')).toHaveText('Europe/Berlin');
  expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
});

for (const [name, roles] of [
  ['viewer', 'viewer'],
  ['release-manager', 'release_manager'],
  ['payments-rm', 'release_manager@payments'],
  ['approver', 'approver'],
]) {
  test(`${name} sees who they are and their roles, and can sign out`, async ({ page }) => {
    await signIn(page, name);
    await expect(page.locator('.user-roles:visible')).toHaveText(roles);
    await page.screenshot({ path: `screenshots/signed-in-${name}.png` });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.locator('.notice.info')).toHaveText('You are signed out.');
    await page.goto('/');
    await expect(page).toHaveURL(/\/login\?next=/);
  });
}
