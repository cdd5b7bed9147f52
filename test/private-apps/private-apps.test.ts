import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const SA_ALL = { create: true, view: true, update: true, remove: true, export: true };
const VIEW = { create: false, view: true, update: false, remove: false, export: false };

describe('private apps', () => {
  let t: TestApp;
  let admin: Session;
  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
  });
  afterEach(async () => {
    await t.close();
  });

  async function roleId(name: string): Promise<string> {
    const roles = (await t.as(admin, { method: 'GET', url: '/manage/roles' })).json<
      Array<{ id: string; name: string }>
    >();
    const role = roles.find((r) => r.name === name);
    if (role === undefined) throw new Error(`no role ${name}`);
    return role.id;
  }

  async function memberWithRole(role: string, email: string): Promise<Session> {
    const added = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email, password: 'a long enough password', roleIds: [await roleId(role)] },
    });
    expect(added.statusCode).toBe(200);
    return t.login(email, 'a long enough password');
  }

  it('creates from scratch with nothing allowed, and lists it', async () => {
    const created = await t.as(admin, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'HubSpot sync', description: 'Nightly', copyFrom: { type: 'scratch' } },
    });
    expect(created.statusCode).toBe(200);
    const app = created.json();
    expect(app).toMatchObject({ name: 'HubSpot sync', enabled: true, tokenCount: 0 });
    expect(app.permissions.models).toEqual({});
    expect(app.createdBy).toMatchObject({ type: 'member', id: t.seed.admin.id });

    const list = await t.as(admin, { method: 'GET', url: '/manage/private-apps' });
    expect(list.json().map((a: { id: string }) => a.id)).toEqual([app.id]);
  });

  it('copies permissions from a role or an app as a snapshot', async () => {
    const csm = await roleId('CSM');
    const fromRole = await t.as(admin, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'From role', copyFrom: { type: 'role', id: csm } },
    });
    expect(fromRole.json().permissions.models.Company).toMatchObject({ view: true, remove: false });

    const fromApp = await t.as(admin, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'From app', copyFrom: { type: 'app', id: fromRole.json().id } },
    });
    expect(fromApp.json().permissions).toEqual(fromRole.json().permissions);

    // Changing the sources afterwards leaves the copies alone.
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/roles/${csm}`,
      payload: { permissions: { models: {} } },
    });
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${fromRole.json().id}`,
      payload: { permissions: { models: {} } },
    });
    const again = await t.as(admin, {
      method: 'GET',
      url: `/manage/private-apps/${fromApp.json().id}`,
    });
    expect(again.json().permissions.models.Company.view).toBe(true);
  });

  it('gates every route on ServiceAccount and names the missing permission', async () => {
    const csm = await memberWithRole('CSM', 'csm@acme.test');
    const list = await t.as(csm, { method: 'GET', url: '/manage/private-apps' });
    expect(list.statusCode).toBe(403);
    expect(list.json()).toMatchObject({ error: 'forbidden', permission: 'ServiceAccount.view' });

    const manager = await memberWithRole('Manager', 'manager@acme.test');
    expect((await t.as(manager, { method: 'GET', url: '/manage/private-apps' })).statusCode).toBe(
      200,
    );
    const create = await t.as(manager, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'Nope' },
    });
    expect(create.json()).toMatchObject({ permission: 'ServiceAccount.create' });
  });

  it('refuses to create or edit an app stronger than its maker', async () => {
    const developer = await memberWithRole('Developer', 'dev@acme.test');
    const fromAdmin = await t.as(developer, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'Escalate', copyFrom: { type: 'role', id: await roleId('Administrator') } },
    });
    expect(fromAdmin.statusCode).toBe(403);
    expect(fromAdmin.json().permission).toMatch(/^(User|Role|Settings|[A-Za-z]+)\.[a-z]+$/);

    const own = await t.as(developer, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'Mine' },
    });
    expect(own.statusCode).toBe(200);
    const grant = await t.as(developer, {
      method: 'PATCH',
      url: `/manage/private-apps/${own.json().id}`,
      payload: { permissions: { models: { Role: SA_ALL } } },
    });
    expect(grant.statusCode).toBe(403);
    expect(grant.json().permission).toBe('Role.create');
  });

  it('audits every change with the actor and the permission difference', async () => {
    const { id } = await createAppWithToken(t, admin, { models: { Company: VIEW }, fields: {} });
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${id}`,
      payload: { name: 'Renamed', enabled: false },
    });
    const audit = await t.as(admin, { method: 'GET', url: `/manage/private-apps/${id}/audit` });
    const actions = audit.json().map((e: { action: string }) => e.action);
    expect(actions).toEqual([
      'privateApp.disable',
      'privateApp.rename',
      'privateApp.token.create',
      'privateApp.permissions.update',
      'privateApp.create',
    ]);
    const permissions = audit.json()[3];
    expect(permissions.changes.granted).toEqual(['Company.view']);
    expect(permissions.actor).toMatchObject({ type: 'member', id: t.seed.admin.id });
  });

  it('lets an app with ServiceAccount permissions manage apps with its token', async () => {
    const manager = await createAppWithToken(t, admin, {
      models: { ServiceAccount: SA_ALL, Company: VIEW },
      fields: {},
    });
    const created = await t.app.inject({
      method: 'POST',
      url: '/manage/private-apps',
      headers: bearer(manager.token),
      payload: { name: 'Made by an app' },
    });
    expect(created.statusCode).toBe(200);
    expect(created.json().createdBy).toMatchObject({ type: 'app', id: manager.id });

    const stronger = await t.app.inject({
      method: 'PATCH',
      url: `/manage/private-apps/${created.json().id}`,
      headers: bearer(manager.token),
      payload: { permissions: { models: { Company: SA_ALL } } },
    });
    expect(stronger.statusCode).toBe(403);
    expect(stronger.json().permission).toBe('Company.create');

    const admins = await createAppWithToken(t, admin, fullPermissions(), 'Strong');
    const mint = await t.app.inject({
      method: 'POST',
      url: `/manage/private-apps/${admins.id}/tokens`,
      headers: bearer(manager.token),
      payload: {},
    });
    expect(mint.statusCode).toBe(403);
  });

  it('hides another workspace’s apps as not found', async () => {
    const other = await t.seedWorkspace('Other', 'admin@other.test');
    const otherSession = await t.login(other.admin.email);
    const { id } = await createAppWithToken(t, otherSession, { models: {}, fields: {} });
    for (const [method, url] of [
      ['GET', `/manage/private-apps/${id}`],
      ['PATCH', `/manage/private-apps/${id}`],
      ['DELETE', `/manage/private-apps/${id}`],
      ['GET', `/manage/private-apps/${id}/tokens`],
      ['POST', `/manage/private-apps/${id}/tokens`],
    ] as const) {
      const response = await t.as(admin, {
        method,
        url,
        ...(method === 'PATCH' ? { payload: { name: 'x' } } : {}),
        ...(method === 'POST' ? { payload: {} } : {}),
      });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().error).toBe('not_found');
    }
  });

  it('never lists private apps among team members', async () => {
    await createAppWithToken(t, admin, { models: {}, fields: {} }, 'Robot');
    const members = await t.as(admin, { method: 'GET', url: '/manage/members' });
    expect(members.json().map((m: { email: string }) => m.email)).toEqual(['admin@acme.test']);
  });
});
