import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';
import { ALL, VIEW, readLogs } from './log-helpers.js';

describe('request log recording', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;

  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, { models: { Company: VIEW }, fields: {} });
  });
  afterEach(async () => {
    await t.close();
  });

  const profile = (token: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'GET',
      url: '/myprofile?limit=5',
      headers: { ...bearer(token), 'user-agent': 'sync-bot/1.2', ...headers },
    });

  it('records an accepted request with its route, token and timing', async () => {
    const before = Date.now();
    const response = await profile(app.token);
    expect(response.statusCode).toBe(200);

    const { items } = await readLogs(t, admin, app.id);
    expect(items).toHaveLength(1);
    const [row] = items;
    expect(row).toMatchObject({
      method: 'GET',
      route: '/myprofile',
      path: '/myprofile?limit=5',
      status: 200,
      tokenId: app.tokenId,
      ip: '127.0.0.1',
      userAgent: 'sync-bot/1.2',
      operation: 'token.profile',
      model: null,
      errorCode: null,
      requestId: response.headers['x-request-id'],
    });
    expect(row?.tokenHint).toMatch(/^apc_…[0-9A-Za-z]{4}$/);
    expect(Date.parse(row?.at ?? '')).toBeGreaterThanOrEqual(before - 5);
    expect(row?.durationMs).toBeGreaterThan(0);
  });

  it('moves the token’s last-used time and IP from the batch', async () => {
    await profile(app.token);
    await profile(app.token, { 'x-forwarded-for': '10.1.1.1' });
    await t.app.requestLog.flush();
    const tokens = await t.as(admin, {
      method: 'GET',
      url: `/manage/private-apps/${app.id}/tokens`,
    });
    const [info] = tokens.json();
    expect(info.lastUsedIp).toBe('127.0.0.1');
    expect(Date.parse(info.lastUsedAt)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('records a missing permission with the permission it names', async () => {
    const response = await t.app.inject({
      method: 'GET',
      url: '/manage/private-apps',
      headers: bearer(app.token),
    });
    expect(response.statusCode).toBe(403);
    const [row] = (await readLogs(t, admin, app.id)).items;
    expect(row).toMatchObject({
      status: 403,
      route: '/manage/private-apps',
      operation: 'privateApp.list',
      model: 'ServiceAccount',
      actions: ['view'],
      errorCode: 'forbidden',
      errorMessage: 'requires ServiceAccount.view',
      missingPermission: 'ServiceAccount.view',
    });
  });

  it('records success and not-found on the management API with a token', async () => {
    const manager = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: ALL }, fields: {} },
      'Manager',
    );
    const ok = await t.app.inject({
      method: 'GET',
      url: `/manage/private-apps/${app.id}`,
      headers: bearer(manager.token),
    });
    expect(ok.statusCode).toBe(200);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/manage/private-apps/000000000000000000000000',
      headers: bearer(manager.token),
    });
    expect(missing.statusCode).toBe(404);

    const { items } = await readLogs(t, admin, manager.id);
    expect(items.map((row) => [row.status, row.errorCode, row.route])).toEqual([
      [404, 'not_found', '/manage/private-apps/:id'],
      [200, null, '/manage/private-apps/:id'],
    ]);
    expect(items[1]).toMatchObject({ model: 'ServiceAccount', actions: ['view'] });
  });

  it('records a disabled app’s refused requests', async () => {
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { enabled: false },
    });
    expect((await profile(app.token)).statusCode).toBe(401);
    const [row] = (await readLogs(t, admin, app.id)).items;
    expect(row).toMatchObject({ status: 401, errorCode: 'app_disabled', tokenId: app.tokenId });
  });

  it('records requests with a deleted token', async () => {
    await t.as(admin, {
      method: 'DELETE',
      url: `/manage/private-apps/${app.id}/tokens/${app.tokenId}`,
    });
    expect((await profile(app.token)).statusCode).toBe(401);
    const [row] = (await readLogs(t, admin, app.id)).items;
    expect(row).toMatchObject({ status: 401, errorCode: 'token_revoked' });
  });

  it('records requests with an expired token', async () => {
    const issued = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens`,
      payload: { expiresAt: new Date(Date.now() + 60_000).toISOString() },
    });
    const { token, info } = issued.json<{ token: string; info: { id: string } }>();
    await t.testDb.database.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
      .where('id', '=', info.id)
      .execute();
    expect((await profile(token)).statusCode).toBe(401);
    const [row] = (await readLogs(t, admin, app.id, { tokenId: info.id })).items;
    expect(row).toMatchObject({ status: 401, errorCode: 'token_expired', tokenId: info.id });
  });

  it('records requests with a rotated-out token', async () => {
    const rotated = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens/${app.tokenId}/rotate`,
      payload: { graceSeconds: 0 },
    });
    expect(rotated.statusCode).toBe(200);
    expect((await profile(app.token)).statusCode).toBe(401);
    expect((await profile(rotated.json().token)).statusCode).toBe(200);
    const { items } = await readLogs(t, admin, app.id);
    expect(items.map((row) => [row.status, row.errorCode])).toEqual([
      [200, null],
      [401, 'token_rotated'],
    ]);
    expect(items[1]?.tokenId).toBe(app.tokenId);
  });

  it('records requests from an address outside the allowlist', async () => {
    const saved = await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { ipAllowlist: ['10.0.0.0/8'] },
    });
    expect(saved.statusCode).toBe(200);
    expect((await profile(app.token)).statusCode).toBe(403);
    const [row] = (await readLogs(t, admin, app.id)).items;
    expect(row).toMatchObject({ status: 403, errorCode: 'ip_not_allowed', ip: '127.0.0.1' });
  });

  it('records rate-limited requests', async () => {
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { rateLimitPerSecond: 1 },
    });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await profile(app.token)).statusCode);
    expect(statuses).toEqual([200, 429, 429]);
    const { items } = await readLogs(t, admin, app.id);
    expect(items.map((row) => [row.status, row.errorCode])).toEqual([
      [429, 'rate_limited'],
      [429, 'rate_limited'],
      [200, null],
    ]);
  });

  it('records nothing for unknown tokens, sessions and public routes', async () => {
    const unknown = `${app.token.slice(0, 10)}${'A'.repeat(app.token.length - 10)}`;
    expect((await profile(unknown)).statusCode).toBe(401);
    await t.app.inject({ method: 'GET', url: '/myprofile' });
    await t.app.inject({ method: 'GET', url: '/healthz', headers: bearer(app.token) });
    await t.as(admin, { method: 'GET', url: '/manage/private-apps' });
    expect((await readLogs(t, admin, app.id)).items).toEqual([]);
    const rows = await t.testDb.database.db.selectFrom('request_logs').selectAll().execute();
    expect(rows).toEqual([]);
  });
});
