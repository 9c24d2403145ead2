import { test, expect } from '@playwright/test';
import { signIn } from './session';

test('an admin creates a CI token, sees its secret once, and verifies the audit chain', async ({ page }) => {
  await signIn(page, 'admin', '/admin', process.env.RAILYARD_ADMIN_PASSWORD);
  await expect(page.locator('#admin-title')).toHaveText('Administration');
  await expect(page.locator('.users [data-user="payments-rm"] .roles')).toHaveText('release_manager@payments');

  await page.locator('summary', { hasText: 'Create a token…' }).click();
  await page.locator('input[name="name"][placeholder="ci-payments"]').fill('ci-e2e');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  const notice = page.locator('.notice.info', { hasText: 'Token ci-e2e created' });
  await expect(notice).toContainText('ryd_');
  await expect(page.locator('.tokens tbody tr', { hasText: 'ci-e2e' })).toContainText('artifacts:write checks:write');

  await page.getByRole('button', { name: 'Verify the chain' }).click();
  await expect(page.locator('.notice.info', { hasText: 'audit log' })).toContainText('The audit log is intact');
  await expect(page.locator('.audit tbody tr').first()).toContainText('token.created');
  await page.screenshot({ path: 'screenshots/admin.png', fullPage: true });
});

test('only admins see the admin page', async ({ page }) => {
  await signIn(page, 'release-manager');
  await expect(page.locator('.admin-link')).toHaveCount(0);
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.locator('.notice.error')).toContainText('may not administer Railyard');
});

test('a person sees where they are signed in and can sign out elsewhere', async ({ browser }) => {
  const laptop = await browser.newPage();
  await signIn(laptop, 'approver');
  const phone = await browser.newContext().then((context) => context.newPage());
  await signIn(phone, 'approver');
  await laptop.goto('/account');
  const rows = laptop.locator('.sessions tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(laptop.locator('.sessions tr.current')).toContainText('this browser');
  await laptop.screenshot({ path: 'screenshots/account.png', fullPage: true });
  await laptop.getByRole('button', { name: 'Sign out there' }).click();
  await expect(rows).toHaveCount(1);
  await phone.goto('/console');
  await expect(phone).toHaveURL(/\/login\?next=/);
});
