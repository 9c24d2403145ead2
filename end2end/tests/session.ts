import { expect, Page } from '@playwright/test';

/** The password of the demo users the server creates with --demo. */
export const DEMO_PASSWORD = 'railyard-demo';

/** Signs in through the sign-in form, as a person would, and waits to land on `next`. */
export async function signIn(page: Page, name: string, next = '/', password = DEMO_PASSWORD) {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Password').fill(password ?? DEMO_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.user-name').first()).toHaveText(name);
}
