import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { permissionUse } from '../../src/request-log/permission-use.js';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';
import { ALL, NONE, VIEW, createLogTestApp, logEntry, readLogs, seedRows } from './log-helpers.js';

const DAY = 86_400_000;

describe('suggested permissions', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;
  let scope: { workspaceId: string; appId: string; tokenId: string };

  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, {
      models: { Company: ALL, EndUser: VIEW, License: VIEW, Task: ALL },
      fields: { Company: { arr: 'read' } },
    });
    scope = { workspaceId: t.seed.workspace.id, appId: app.id, tokenId: app.tokenId };

    const now = Date.now();
    const at = (daysAgo: number) => now - daysAgo * DAY;
    const company = { model: 'Company' };
    await seedRows(t, [
      logEntry(scope, { ...company, action: 'view', at: at(40) }),
      logEntry(scope, { model: 'License', action: 'view', at: at(40) }),
      logEntry(scope, { ...company, action: 'view', at: at(3) }),
      logEntry(scope, { ...company, action: 'view', at: at(2) }),
      logEntry(scope, { ...company, action: 'create', at: at(2), created: 2, updated: 0 }),
      logEntry(scope, { model: 'EndUser', action: 'view', at: at(1) }),
      logEntry(scope, { model: 'Task', action: 'remove', at: at(1), status: 500 }),
      logEntry(scope, {
        ...company,
        action: 'update',
        at: at(1),
        status: 403,
        errorCode: 'forbidden',
        missingPermission: 'Company.update',
      }),
      logEntry(scope, {
        model: 'Invoice',
        action: 'view',
        at: at(1),
        status: 403,
        errorCode: 'forbidden',
        missingPermission: 'Invoice.view',
      }),
      logEntry(scope, { model: null, action: null, operation: 'token.profile', at: at(1) }),
    ]);
  });
  afterEach(async () => {
    await t.close();
  });

  const suggestion = (query = '') =>
    t.as(admin, {
      method: 'GET',
      url: `/manage/private-apps/${app.id}/suggested-permissions${query}`,
    });

  it('computes the smallest set, what went unused and what was refused', async () => {
    const response = await suggestion();
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.suggested).toEqual({
      models: {
        Company: { ...NONE, view: true, create: true },
        EndUser: VIEW,
      },
      fields: { Company: { arr: 'read' } },
    });
    expect(body.unused).toEqual([
      'Company.update',
      'Company.remove',
      'Company.export',
      'License.view',
      'Task.create',
      'Task.view',
      'Task.update',
      'Task.remove',
      'Task.export',
    ]);
    expect(
      body.refused.map((r: { permission: string; count: number }) => [r.permission, r.count]),
    ).toEqual([
      ['Company.update', 1],
      ['Invoice.view', 1],
    ]);
    expect(body.used).toEqual([
      { permission: 'Company.create', count: 1 },
      { permission: 'Company.view', count: 2 },
      { permission: 'EndUser.view', count: 1 },
    ]);

    const wider = (await suggestion(`?from=${Date.now() - 60 * DAY}`)).json();
    expect(wider.suggested.models.License).toEqual(VIEW);
    expect(wider.unused).not.toContain('License.view');
  });

  it('applies the suggestion with an audit event', async () => {
    const applied = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/suggested-permissions/apply`,
      payload: {},
    });
    expect(applied.statusCode).toBe(200);
    expect(applied.json().app.permissions.models).toEqual({
      Company: { ...NONE, view: true, create: true },
      EndUser: VIEW,
    });

    const audit = await t.as(admin, { method: 'GET', url: `/manage/private-apps/${app.id}/audit` });
    const [latest] = audit.json();
    expect(latest).toMatchObject({
      action: 'privateApp.permissions.update',
      actor: { type: 'member', id: t.seed.admin.id },
    });
    expect(latest.changes.revoked).toContain('License.view');
    expect(latest.changes.granted).toEqual([]);

    const empty = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/suggested-permissions/apply`,
    });
    expect(empty.statusCode).toBe(200);
  });

  it('refuses to apply for a principal weaker than the app', async () => {
    const manager = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: ALL }, fields: {} },
      'Manager',
    );
    const response = await t.app.inject({
      method: 'POST',
      url: `/manage/private-apps/${app.id}/suggested-permissions/apply`,
      headers: bearer(manager.token),
      payload: {},
    });
    expect(response.statusCode).toBe(403);
    expect(response.json().permission).toMatch(/^Company\./);

    const viewer = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: VIEW }, fields: {} },
      'Viewer',
    );
    const refused = await t.app.inject({
      method: 'POST',
      url: `/manage/private-apps/${app.id}/suggested-permissions/apply`,
      headers: bearer(viewer.token),
      payload: {},
    });
    expect(refused.json().permission).toBe('ServiceAccount.update');
  });

  it('learns from real requests: a manager app that only ever reads', async () => {
    const manager = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: ALL, Settings: ALL }, fields: {} },
      'Reader',
    );
    for (const url of ['/manage/private-apps', `/manage/private-apps/${app.id}/logs`]) {
      const response = await t.app.inject({ method: 'GET', url, headers: bearer(manager.token) });
      expect(response.statusCode).toBe(200);
    }
    await t.app.requestLog.flush();
    const body = (
      await t.as(admin, {
        method: 'GET',
        url: `/manage/private-apps/${manager.id}/suggested-permissions`,
      })
    ).json();
    expect(body.suggested.models).toEqual({ ServiceAccount: VIEW });
    expect(body.unused).toContain('ServiceAccount.remove');
    expect(body.unused).toContain('Settings.view');
  });
});

describe('permission use of an operation', () => {
  it('maps record and management operations to models and actions', () => {
    const cases: Array<[string, string | null, string[]]> = [
      ['record.company.list', 'Company', ['view']],
      ['record.company.get', 'Company', ['view']],
      ['record.enduser.create', 'EndUser', ['create']],
      ['record.customfield.update', 'CustomField', ['update']],
      ['record.task.delete', 'Task', ['remove']],
      ['record.license.bulkUpsert', 'License', ['create', 'update']],
      ['record.company.export', 'Company', ['export']],
      ['record.nosuchmodel.list', null, ['view']],
      ['privateApp.list', 'ServiceAccount', ['view']],
      ['privateApp.create', 'ServiceAccount', ['create']],
      ['privateApp.delete', 'ServiceAccount', ['remove']],
      ['privateApp.token.create', 'ServiceAccount', ['update']],
      ['privateApp.token.list', 'ServiceAccount', ['view']],
      ['privateApp.logs.export', 'ServiceAccount', ['view', 'export']],
      ['privateApp.suggestedPermissions.apply', 'ServiceAccount', ['update']],
      ['member.list', 'User', ['view']],
      ['role.delete', 'Role', ['remove']],
      ['settings.tenantToken.regenerate', 'Settings', ['update']],
      ['token.profile', null, []],
    ];
    for (const [operation, model, actions] of cases) {
      expect(permissionUse(operation), operation).toEqual({ model, actions });
    }
    expect(
      permissionUse('record.company.bulkUpsert', { counts: { created: 0, updated: 3, errors: 0 } }),
    ).toEqual({ model: 'Company', actions: ['update'] });
    expect(permissionUse('record.user.get', { model: 'User' })).toEqual({
      model: 'User',
      actions: ['view'],
    });
    expect(permissionUse('custom.thing', { model: 'EndUser', permissionAction: 'export' })).toEqual(
      { model: 'EndUser', actions: ['export'] },
    );
  });
});

describe('request log extras from routes', () => {
  let t: TestApp;
  afterEach(async () => {
    await t.close();
  });

  it('records counts, ignored fields, the model and actions a route reports', async () => {
    t = await createLogTestApp({
      routes(app) {
        app.put(
          '/test-companies',
          { config: { auth: 'token', operation: 'record.company.bulkUpsert' } },
          async (request) => {
            request.requestLogExtras = {
              counts: { created: 2, updated: 1, errors: 1 },
              ignoredFields: ['shoeSize'],
            };
            return { created: 2, updated: 1 };
          },
        );
        app.get(
          '/test-dimensions',
          { config: { auth: 'token', operation: 'dimension.list' } },
          async (request) => {
            request.requestLogExtras = { model: 'DimensionData', permissionAction: ['view'] };
            return [];
          },
        );
      },
    });
    const admin = await t.login();
    const app = await createAppWithToken(t, admin, { models: {}, fields: {} });
    await t.app.inject({
      method: 'PUT',
      url: '/test-companies',
      headers: bearer(app.token),
      payload: [],
    });
    await t.app.inject({ method: 'GET', url: '/test-dimensions', headers: bearer(app.token) });

    const { items } = await readLogs(t, admin, app.id);
    expect(items[0]).toMatchObject({
      route: '/test-dimensions',
      model: 'DimensionData',
      actions: ['view'],
      counts: null,
    });
    expect(items[1]).toMatchObject({
      route: '/test-companies',
      model: 'Company',
      operation: 'record.company.bulkUpsert',
      actions: ['create', 'update'],
      counts: { created: 2, updated: 1, errors: 1 },
      ignoredFields: ['shoeSize'],
    });
  });
});
