import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  DESKTOP,
  PHONE,
  clipboardText,
  ensureUiBuilt,
  focused,
  launchChromium,
  logIn,
  managementApi,
  overflowsSideways,
  screenshot,
  startE2eServer,
  type E2eServer,
} from './browser.js';

interface Role {
  id: string;
  name: string;
  permissions: { models: Record<string, Record<string, boolean>> };
}
interface Settings {
  tenantToken: string;
}

const CSM_EMAIL = 'casey@e2e.test';
const CSM_PASSWORD = 'casey-password-2024';
const DEVELOPER_EMAIL = 'dev@e2e.test';
const DEVELOPER_PASSWORD = 'developer-password-2024';

describe('settings, and what each member may see', () => {
  let server: E2eServer;
  let browser: Browser;
  let admin: BrowserContext;
  let page: Page;
  let api: Awaited<ReturnType<typeof managementApi>>;

  beforeAll(async () => {
    await ensureUiBuilt();
    browser = await launchChromium();
    server = await startE2eServer();
    admin = await browser.newContext({ viewport: DESKTOP });
    admin.setDefaultTimeout(8_000);
    await admin.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await admin.newPage();
    await logIn(page, server.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    api = await managementApi(admin.request, server.url);
    await api.post('/manage/private-apps', { name: 'Warehouse feed' });
  }, 120_000);

  afterAll(async () => {
    await admin?.close();
    await browser?.close();
    await server?.close();
  });

  async function memberContext(email: string, password: string) {
    const context = await browser.newContext({ viewport: DESKTOP });
    context.setDefaultTimeout(8_000);
    const memberPage = await context.newPage();
    await logIn(memberPage, server.url, email, password);
    return { context, page: memberPage };
  }

  it('adds a team member, and the team list never shows private apps', async () => {
    await page.getByRole('link', { name: 'Team members' }).click();
    const team = page.getByRole('table', { name: 'Team members' });
    await team.getByText(ADMIN_EMAIL).waitFor();

    await page.getByRole('button', { name: 'Add member' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a team member' });
    await dialog.getByLabel('Email').fill(CSM_EMAIL);
    await dialog.getByLabel('First name').fill('Casey');
    await dialog.getByLabel('Last name').fill('Morgan');
    await dialog.getByLabel('Password (optional)').fill(CSM_PASSWORD);
    await dialog.getByRole('checkbox', { name: /^CSM/ }).check();
    await screenshot(page, 'add-member');
    await dialog.getByRole('button', { name: 'Add member' }).click();
    await dialog.waitFor({ state: 'detached' });

    await team.getByText(CSM_EMAIL).waitFor();
    const text = (await team.textContent()) ?? '';
    expect(text).toContain('Casey Morgan');
    expect(text).not.toContain('Warehouse feed');
    await screenshot(page, 'team-members');
  });

  it('creates a role on the permission grid', async () => {
    await page.getByRole('link', { name: 'Roles' }).click();
    await page.getByRole('table', { name: 'Roles' }).getByText('Administrator').waitFor();
    await screenshot(page, 'roles');

    await page.getByRole('button', { name: 'New role' }).click();
    const dialog = page.getByRole('dialog', { name: 'New role' });
    await dialog.getByLabel('Name').fill('Auditor');
    await dialog.getByLabel('Description').fill('Reads everything, changes nothing');
    await dialog.getByRole('checkbox', { name: 'View on every model' }).check();
    await dialog.getByRole('checkbox', { name: 'Export on every model' }).check();
    await dialog.getByRole('checkbox', { name: 'Export Settings' }).uncheck();
    await screenshot(page, 'role-editor');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });

    const roles = await api.get<Role[]>('/manage/roles');
    const auditor = roles.find((role) => role.name === 'Auditor');
    expect(auditor).toBeDefined();
    const models = auditor?.permissions.models ?? {};
    expect(models.Company).toEqual({
      create: false,
      view: true,
      update: false,
      remove: false,
      export: true,
    });
    expect(models.Settings?.export).toBe(false);
    expect(models.Settings?.view).toBe(true);
  });

  it('reveals, copies and regenerates the Tenant Token after confirming', async () => {
    const before = await api.get<Settings>('/manage/settings');
    await page.getByRole('link', { name: 'Tenant Token' }).click();
    await page.getByText('/analytics/{tenantToken}').waitFor();
    const field = page.getByRole('textbox', { name: 'Tenant Token' });
    expect(await field.inputValue()).not.toContain(before.tenantToken);

    await page.getByRole('button', { name: 'Reveal' }).click();
    expect(await field.inputValue()).toBe(before.tenantToken);
    await page.getByRole('button', { name: 'Copy the Tenant Token' }).click();
    await expect.poll(() => clipboardText(page)).toBe(before.tenantToken);
    await screenshot(page, 'tenant-token');

    await page.getByRole('button', { name: 'Regenerate Tenant Token' }).click();
    const confirm = page.getByRole('dialog', { name: 'Regenerate the Tenant Token?' });
    await confirm.getByRole('button', { name: 'Regenerate' }).click();
    await page.getByText('A new Tenant Token was issued').waitFor();
    const after = await api.get<Settings>('/manage/settings');
    expect(after.tenantToken).not.toBe(before.tenantToken);
    expect(await field.inputValue()).toBe(after.tenantToken);
  });

  it('shows settings on a phone', async () => {
    await page.setViewportSize(PHONE);
    for (const [link, name] of [
      ['Team members', 'team-members'],
      ['Roles', 'roles'],
      ['Tenant Token', 'tenant-token'],
    ] as const) {
      await page.goto(`${server.url}/#/settings/${name === 'team-members' ? 'team' : name}`);
      await page.getByRole('heading', { name: link, level: 1 }).waitFor();
      await screenshot(page, name);
      expect(await overflowsSideways(page)).toBe(false);
    }
    await page.setViewportSize(DESKTOP);
  });

  it('gives a member without ServiceAccount view no Private apps entry', async () => {
    const csm = await memberContext(CSM_EMAIL, CSM_PASSWORD);
    try {
      const nav = csm.page.getByRole('navigation', { name: 'Global tools' });
      await nav.getByRole('link', { name: 'App Center' }).waitFor();
      expect(await csm.page.getByText('Private apps').count()).toBe(0);
      expect(await csm.page.getByRole('link', { name: 'New app' }).count()).toBe(0);
      await screenshot(csm.page, 'app-center-without-access');

      // Not even by address.
      await csm.page.goto(`${server.url}/#/app-center/private-apps`);
      await csm.page.getByRole('heading', { name: 'App Center' }).waitFor();
      expect(await csm.page.getByText('Warehouse feed').count()).toBe(0);
      expect(await csm.page.getByText('Private apps').count()).toBe(0);

      // The CSM role may see the team: still no app there.
      await nav.getByRole('link', { name: 'Team members' }).click();
      const team = csm.page.getByRole('table', { name: 'Team members' });
      await team.getByText(ADMIN_EMAIL).waitFor();
      expect(await team.textContent()).not.toContain('Warehouse feed');
    } finally {
      await csm.context.close();
    }
  });

  it('shows the permissions a member cannot grant as unavailable', async () => {
    const roles = await api.get<Role[]>('/manage/roles');
    const developer = roles.find((role) => role.name === 'Developer');
    await api.post('/manage/members', {
      email: DEVELOPER_EMAIL,
      password: DEVELOPER_PASSWORD,
      roleIds: [developer?.id],
    });
    const dev = await memberContext(DEVELOPER_EMAIL, DEVELOPER_PASSWORD);
    try {
      await dev.page.getByRole('link', { name: 'Warehouse feed' }).click();
      const dialog = dev.page.getByRole('dialog', { name: 'Warehouse feed' });
      await dialog.getByRole('tab', { name: 'Permissions' }).click();
      // Developers edit and remove records but cannot export them, nor touch roles.
      expect(await dialog.getByRole('checkbox', { name: 'Remove Company' }).isEnabled()).toBe(true);
      expect(await dialog.getByRole('checkbox', { name: 'Export Company' }).isEnabled()).toBe(
        false,
      );
      expect(await dialog.getByRole('checkbox', { name: 'Create Role' }).isEnabled()).toBe(false);

      // The column toggle grants only what the member holds.
      await dialog.getByRole('checkbox', { name: 'Export on every model' }).check();
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByText('Saved', { exact: true }).waitFor();
      await screenshot(dev.page, 'permissions-unavailable');
      const devApi = await managementApi(dev.context.request, server.url);
      const apps =
        await devApi.get<{ name: string; permissions: Role['permissions'] }[]>(
          '/manage/private-apps',
        );
      const models = apps.find((app) => app.name === 'Warehouse feed')?.permissions.models ?? {};
      expect(models.ServiceAccount?.export).toBe(true);
      expect(models.Company?.export ?? false).toBe(false);
    } finally {
      await dev.context.close();
    }
  });

  it('creates a private app with the keyboard alone, with focus always visible', async () => {
    await page.goto(`${server.url}/#/app-center/private-apps`);
    await page.getByRole('heading', { name: 'Private apps' }).waitFor();
    await page.locator('body').focus();

    const tabTo = async (name: string) => {
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        const now = await focused(page);
        if (now.text.includes(name)) return now;
      }
      throw new Error(`Tab never reached ${name}`);
    };

    expect((await tabTo('New app')).outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'Apps Library' }).waitFor();
    expect((await tabTo('Private app')).outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('dialog', { name: 'New private app' }).waitFor();
    // The name field has focus when the dialog opens.
    await page.keyboard.type('Keyboard app');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Keyboard app' });
    await dialog.waitFor();

    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Keyboard app' }).waitFor();
  });
});
