import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  DESKTOP,
  PHONE,
  callWithToken,
  clipboardText,
  ensureUiBuilt,
  launchChromium,
  logIn,
  managementApi,
  overflowsSideways,
  screenshot,
  startE2eServer,
  type E2eServer,
} from './browser.js';

interface PermissionSet {
  models: Record<string, Record<string, boolean>>;
  fields: Record<string, Record<string, string>>;
}
interface App {
  id: string;
  name: string;
  permissions: PermissionSet;
  enabled: boolean;
}
interface Role {
  id: string;
  name: string;
  permissions: PermissionSet;
}

/** The grants of a set as `Model.action` names, for comparisons that ignore spelling. */
function grants(set: PermissionSet): string[] {
  return Object.entries(set.models)
    .flatMap(([model, actions]) =>
      Object.entries(actions)
        .filter(([, on]) => on)
        .map(([action]) => `${model}.${action}`),
    )
    .sort();
}

describe('private apps in the web UI', () => {
  let server: E2eServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let api: Awaited<ReturnType<typeof managementApi>>;
  let token = '';
  let appId = '';

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchChromium();
    server = await startE2eServer();
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.url,
    });
    context.setDefaultTimeout(8_000);
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await server?.close();
  });

  const appDialog = () => page.getByRole('dialog', { name: /Billing sync/ });

  it('refuses a wrong password, then logs in', async () => {
    await page.goto(`${server.url}/`);
    await screenshot(page, 'login');
    await page.getByLabel('Email').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('email or password is wrong');

    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Private apps' }).waitFor();
    api = await managementApi(context.request, server.url);
    await screenshot(page, 'private-apps-empty');
  });

  it('creates a private app from scratch through the Apps Library', async () => {
    await page.getByRole('link', { name: 'New app' }).click();
    const library = page.getByRole('dialog', { name: 'Apps Library' });
    await library.waitFor();
    await screenshot(page, 'apps-library');

    await library.getByRole('link', { name: 'Private app', exact: true }).click();
    const create = page.getByRole('dialog', { name: 'New private app' });
    await create.getByLabel('Name').fill('Billing sync');
    await expect(await create.getByLabel('Copy permissions from').inputValue()).toBe('scratch');
    await screenshot(page, 'create-app');
    await create.getByRole('button', { name: 'Create', exact: true }).click();

    await appDialog().waitFor();
    await expect.poll(() => page.url()).toMatch(/#\/app-center\/private-apps\/.+/);
    appId = page.url().split('/').pop() ?? '';
    const app = await api.get<App>(`/manage/private-apps/${appId}`);
    expect(app.name).toBe('Billing sync');
    expect(grants(app.permissions)).toEqual([]);
    await screenshot(page, 'app-info');
  });

  it('edits permissions, warns about unsaved changes, and saves', async () => {
    const dialog = appDialog();
    await dialog.getByRole('tab', { name: 'Permissions' }).click();
    await dialog.getByRole('checkbox', { name: 'Every action on Company' }).check();
    await dialog.getByRole('checkbox', { name: 'View EndUser' }).check();
    await dialog.getByRole('checkbox', { name: 'Remove Company' }).uncheck();
    await dialog.getByRole('button', { name: 'Field rules for Company' }).click();
    await dialog.getByLabel('Field', { exact: true }).fill('phone');
    await dialog.getByLabel('Access to the new field').selectOption('read');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await screenshot(page, 'app-permissions');

    // Closing with unsaved edits asks first; keeping them leaves the dialog open.
    await page.keyboard.press('Escape');
    const discard = page.getByRole('dialog', { name: 'Discard unsaved changes?' });
    await discard.waitFor();
    await discard.getByRole('button', { name: 'Keep editing' }).click();
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Saved', { exact: true }).waitFor();

    const app = await api.get<App>(`/manage/private-apps/${appId}`);
    expect(grants(app.permissions)).toEqual([
      'Company.create',
      'Company.export',
      'Company.update',
      'Company.view',
      'EndUser.view',
    ]);
    expect(app.permissions.fields.Company).toEqual({ phone: 'read' });
  });

  it('generates a token shown once, copies it, and the main API accepts it', async () => {
    const dialog = appDialog();
    await dialog.getByRole('tab', { name: 'Info' }).click();
    await dialog.getByLabel('Label (optional)').fill('e2e');
    await dialog.getByRole('button', { name: 'Generate new token' }).click();
    const shown = dialog.getByRole('textbox', { name: 'New API Access Token' });
    await shown.waitFor();
    token = await shown.inputValue();
    expect(token.length).toBeGreaterThan(20);
    await expect(dialog.getByText('will not show it again')).toBeTruthy();
    await screenshot(page, 'token-shown-once');

    await dialog.getByRole('button', { name: 'Copy the new token' }).click();
    await expect.poll(() => clipboardText(page)).toBe(token);

    const profile = await callWithToken(server.url, '/myprofile', token);
    expect(profile.status).toBe(200);
    expect(profile.body.name).toBe('Billing sync');

    await dialog.getByRole('button', { name: 'I have stored it; hide the token' }).click();
    expect(await dialog.getByRole('textbox', { name: 'New API Access Token' }).count()).toBe(0);
    const rows = dialog.getByRole('table', { name: 'Tokens' }).locator('tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('e2e');
  });

  it('shows the calls in the Logs tab, filters them, exports them and suggests permissions', async () => {
    expect((await callWithToken(server.url, '/companies', token)).status).toBe(200);
    expect((await callWithToken(server.url, '/tasks', token)).status).toBe(403);

    const dialog = appDialog();
    await dialog.getByRole('tab', { name: 'Logs' }).click();
    const table = dialog.getByRole('table', { name: 'Requests' });
    // The log is written in batches, at most a second apart.
    await expect
      .poll(
        async () => {
          await dialog.getByRole('button', { name: 'Apply filters' }).click();
          await page.waitForTimeout(300);
          return (await table.count()) === 0 ? '' : await table.textContent();
        },
        { timeout: 15_000 },
      )
      .toContain('/tasks');
    const text = (await table.textContent()) ?? '';
    expect(text).toContain('/myprofile');
    expect(text).toContain('/companies');
    await expect.poll(() => dialog.getByRole('img', { name: /requests from/ }).count()).toBe(1);
    await screenshot(page, 'app-logs');

    await dialog.getByLabel('Status').selectOption('4xx');
    await dialog.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => table.textContent()).not.toContain('/myprofile');
    expect(await table.textContent()).toContain('/tasks');

    await table.getByRole('button', { name: /Details of GET \/tasks/ }).click();
    const detail = page.getByRole('dialog', { name: 'Request details' });
    await detail.getByText('Task.view').first().waitFor();
    await screenshot(page, 'app-log-detail');
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached' });

    const href = await dialog.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await context.request.get(`${server.url}${href ?? ''}`);
    expect(csv.status()).toBe(200);
    expect(await csv.text()).toContain('/tasks');

    await dialog.getByRole('button', { name: 'Reset' }).click();
    await dialog.getByRole('button', { name: 'Suggest permissions' }).click();
    const panel = dialog.getByRole('region', { name: 'Suggested permissions' });
    await panel.getByText('Company.view').first().waitFor();
    expect(await panel.textContent()).toContain('Task.view');
    await panel.getByRole('button', { name: 'Apply suggestion' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'suggested-permissions');
    await panel.getByRole('button', { name: 'Apply suggestion' }).click();
    await page
      .getByRole('dialog', { name: 'Apply the suggested permissions?' })
      .getByRole('button', { name: 'Apply' })
      .click();
    await panel.getByText('now the app’s permissions').waitFor();
    const app = await api.get<App>(`/manage/private-apps/${appId}`);
    expect(grants(app.permissions)).toEqual(['Company.view']);
  });

  it('deletes the token, and the next call with it fails', async () => {
    const dialog = appDialog();
    await dialog.getByRole('tab', { name: 'Info' }).click();
    await dialog.getByRole('button', { name: /^Delete token/ }).click();
    const confirm = page.getByRole('dialog', { name: /^Delete token/ });
    await confirm.getByRole('button', { name: 'Delete token' }).click();
    await dialog.getByText('This app has no tokens yet.').waitFor();

    const refused = await callWithToken(server.url, '/myprofile', token);
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('token_revoked');
  });

  it('rotates a token with a grace period', async () => {
    const dialog = appDialog();
    await dialog.getByRole('button', { name: 'Generate new token' }).click();
    const first = await dialog.getByRole('textbox', { name: 'New API Access Token' }).inputValue();
    await dialog.getByRole('button', { name: 'I have stored it; hide the token' }).click();

    await dialog.getByRole('button', { name: /^Rotate token/ }).click();
    const rotate = page.getByRole('dialog', { name: /^Rotate token/ });
    await rotate
      .getByLabel('Grace period')
      .selectOption({ label: 'Keep the old token for 1 hour' });
    await rotate.getByRole('button', { name: 'Rotate', exact: true }).click();
    const second = await dialog.getByRole('textbox', { name: 'New API Access Token' }).inputValue();
    expect(second).not.toBe(first);
    await dialog.getByText('keeps working until').waitFor();

    expect((await callWithToken(server.url, '/myprofile', first)).status).toBe(200);
    expect((await callWithToken(server.url, '/myprofile', second)).status).toBe(200);
    token = second;
    await dialog.getByRole('button', { name: 'I have stored it; hide the token' }).click();
  });

  it('closes the dialog and lists the app with its tokens', async () => {
    await appDialog().getByRole('button', { name: 'Close' }).click();
    await appDialog().waitFor({ state: 'detached' });
    const row = page.getByRole('table', { name: 'Private apps' }).locator('tr', {
      hasText: 'Billing sync',
    });
    await expect.poll(() => row.getByRole('cell').nth(3).textContent()).toBe('2');
    await screenshot(page, 'private-apps');
  });

  it('disables and enables the app with the switch', async () => {
    const toggle = page.getByRole('switch', { name: 'Enable Billing sync' });
    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('false');
    await expect
      .poll(async () => (await callWithToken(server.url, '/myprofile', token)).body.error)
      .toBe('app_disabled');

    await toggle.click();
    await expect.poll(() => toggle.getAttribute('aria-checked')).toBe('true');
    await expect
      .poll(async () => (await callWithToken(server.url, '/myprofile', token)).status)
      .toBe(200);
  });

  it('creates apps that copy permissions from another app and from a role', async () => {
    const source = await api.get<App>(`/manage/private-apps/${appId}`);
    const roles = await api.get<Role[]>('/manage/roles');
    const csm = roles.find((role) => role.name === 'CSM');
    if (csm === undefined) throw new Error('the seeded workspace has no CSM role');

    const cases = [
      { name: 'Copy of billing', from: 'Billing sync', expected: grants(source.permissions) },
      { name: 'CSM helper', from: 'CSM', expected: grants(csm.permissions) },
    ];
    for (const { name, from, expected } of cases) {
      await page.getByRole('link', { name: 'New app' }).click();
      await page
        .getByRole('dialog', { name: 'Apps Library' })
        .getByRole('link', { name: 'Private app', exact: true })
        .click();
      const create = page.getByRole('dialog', { name: 'New private app' });
      await create.getByLabel('Name').fill(name);
      await create.getByLabel('Copy permissions from').selectOption({ label: from });
      await create.getByRole('button', { name: 'Create', exact: true }).click();

      const dialog = page.getByRole('dialog', { name });
      await dialog.waitFor();
      const id = page.url().split('/').pop() ?? '';
      const created = await api.get<App>(`/manage/private-apps/${id}`);
      expect(grants(created.permissions)).toEqual(expected);
      await dialog.getByRole('button', { name: 'Close' }).click();
      await dialog.waitFor({ state: 'detached' });
    }
  });

  it('deletes an app with the bin after confirming', async () => {
    await page.getByRole('button', { name: 'Delete CSM helper' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete CSM helper?' });
    await screenshot(page, 'delete-app-confirm');
    await confirm.getByRole('button', { name: 'Delete app' }).click();
    await confirm.waitFor({ state: 'detached' });
    await expect
      .poll(() => page.getByRole('table', { name: 'Private apps' }).textContent())
      .not.toContain('CSM helper');
    const apps = await api.get<App[]>('/manage/private-apps');
    expect(apps.map((app) => app.name).sort()).toEqual(['Billing sync', 'Copy of billing']);
  });

  it('stays readable on a phone', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${server.url}/#/app-center/private-apps`);
    await page.getByRole('heading', { name: 'Private apps' }).waitFor();
    await screenshot(page, 'private-apps');
    await page.getByRole('link', { name: 'Billing sync' }).click();
    await appDialog().waitFor();
    await screenshot(page, 'app-info');
    await appDialog().getByRole('tab', { name: 'Permissions' }).click();
    await screenshot(page, 'app-permissions');
    await appDialog().getByRole('tab', { name: 'Logs' }).click();
    await page.waitForTimeout(500);
    await screenshot(page, 'app-logs');
    expect(await overflowsSideways(page)).toBe(false);
    await page.setViewportSize(DESKTOP);
  });

  it('logs out', async () => {
    await page.goto(`${server.url}/#/app-center/private-apps`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to App Center' }).waitFor();
    const me = await context.request.get(`${server.url}/auth/me`);
    expect(me.status()).toBe(401);
    await logIn(page, server.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
});
