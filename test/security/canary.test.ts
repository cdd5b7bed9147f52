import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { ADMIN_PASSWORD, createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

/**
 * Every kind of secret the server hands out, used the way clients use them (and misuse
 * them), then searched for in every table, the database file and every log line.
 */
describe('canary: no secret survives its one showing', () => {
  let t: TestApp;
  const secrets = new Map<string, string>();
  let currentTenantToken = '';

  const remember = (kind: string, value: string) => {
    expect(value.length).toBeGreaterThan(8);
    secrets.set(value, kind);
  };
  const sessionSecrets = (kind: string, session: Session) => {
    remember(`${kind} session id`, session.cookie.split('=')[1] ?? '');
    remember(`${kind} CSRF token`, session.csrfToken);
  };

  beforeAll(async () => {
    t = await createTestApp({ logLevel: 'debug' });
    remember('admin password', ADMIN_PASSWORD);
    const admin = await t.login();
    sessionSecrets('admin', admin);

    const roles = (await t.as(admin, { method: 'GET', url: '/manage/roles' })).json();
    const added = await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'dev@acme.test', roleIds: [roles[0].id] },
    });
    const generated = added.json().password as string;
    remember('generated password', generated);
    sessionSecrets('member', await t.login('dev@acme.test', generated));
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/members/${added.json().member.id}`,
      payload: { password: 'a brand new password' },
    });
    remember('changed password', 'a brand new password');
    // A failed login with a password that never matched must not be logged either.
    await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'dev@acme.test', password: 'wrong guess 12345' },
    });
    remember('wrong password', 'wrong guess 12345');

    const app = await createAppWithToken(t, admin, fullPermissions(), 'Canary');
    remember('token', app.token);
    const second = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens`,
      payload: { label: 'second' },
    });
    remember('token', second.json().token);
    const rotated = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens/${second.json().info.id}/rotate`,
      payload: { graceSeconds: 60 },
    });
    remember('rotated token', rotated.json().token);

    for (const token of [app.token, second.json().token, rotated.json().token]) {
      await t.app.inject({ url: '/myprofile', headers: bearer(token) });
      await t.app.inject({ url: `/companies?token=${token}&limit=1`, headers: bearer(token) });
      await t.app.inject({ url: `/myprofile?access_token=${token}` });
      await t.app.inject({
        method: 'POST',
        url: '/companies',
        headers: bearer(token),
        payload: { name: 'Canary Co', externalId: `canary-${token.slice(-6)}` },
      });
      const basic = Buffer.from(`${token}:`).toString('base64');
      await t.app.inject({
        url: '/endusers?limit=1',
        headers: { authorization: `Basic ${basic}` },
      });
    }
    await t.as(admin, {
      method: 'DELETE',
      url: `/manage/private-apps/${app.id}/tokens/${app.tokenId}`,
    });
    await t.app.inject({ url: '/myprofile', headers: bearer(app.token) });
    await t.app.inject({
      method: 'POST',
      url: '/tokens/revoke',
      payload: { tokens: [rotated.json().token] },
    });

    const tenantToken = t.seed.workspace.tenantToken;
    remember('old Tenant Token', tenantToken);
    const activity = { email: 'person@acme.test', action: 'login' };
    await t.app.inject({ method: 'POST', url: `/analytics/${tenantToken}`, payload: activity });
    await t.app.inject({
      method: 'POST',
      url: `/analytics/bulk/${tenantToken}`,
      payload: [activity],
    });
    await t.app.inject({
      method: 'POST',
      url: `/dimensiondata/${tenantToken}`,
      payload: { dimensionId: 'logins', value: 1, externalId: 'canary-co' },
    });
    await t.app.inject({
      method: 'POST',
      url: '/dock/segment',
      headers: { authorization: `Basic ${Buffer.from(`${tenantToken}:`).toString('base64')}` },
      payload: { type: 'track', userId: 'u1', event: 'Clicked' },
    });
    const regenerated = await t.as(admin, {
      method: 'POST',
      url: '/manage/settings/tenant-token/regenerate',
    });
    currentTenantToken = regenerated.json().tenantToken;
    await t.app.inject({ method: 'POST', url: `/analytics/${tenantToken}`, payload: activity });
    await t.app.inject({
      method: 'POST',
      url: `/analytics/${currentTenantToken}`,
      payload: activity,
    });
    await t.app.inject({ method: 'GET', url: `/analytics/${currentTenantToken}` });

    await t.as(admin, { method: 'POST', url: '/auth/logout' });
    await t.app.requestLog.flush();
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  function find(haystack: string): string[] {
    return [...secrets].filter(([value]) => haystack.includes(value)).map(([, kind]) => kind);
  }

  it('holds no secret in any table', async () => {
    const db = t.testDb.database.db;
    const schema = t.testDb.database.schema;
    // On PostgreSQL introspection also lists the tables of other suites' schemas.
    const tables = (await db.introspection.getTables()).filter(
      (table) => schema === undefined || table.schema === schema,
    );
    expect(tables.length).toBeGreaterThan(8);
    for (const table of tables) {
      const rows = await sql<
        Record<string, unknown>
      >`select * from ${sql.table(table.name)}`.execute(db);
      // The live Tenant Token is how ingestion finds its workspace, and Settings shows it.
      const cleaned = rows.rows.map((row) =>
        table.name === 'workspaces' ? { ...row, tenant_token: undefined } : row,
      );
      expect(find(JSON.stringify(cleaned)), table.name).toEqual([]);
    }
  });

  it('holds no secret in the database file', () => {
    if (t.testDb.target.dialect !== 'sqlite') return;
    t.testDb.database.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = readFileSync(t.testDb.target.path).toString('latin1');
    expect(find(bytes)).toEqual([]);
  });

  it('writes no secret to any log line, not even the live Tenant Token', () => {
    const logs = t.logs.join('');
    expect(t.logs.length).toBeGreaterThan(20);
    expect(find(logs)).toEqual([]);
    expect(logs.includes(currentTenantToken)).toBe(false);
  });
});
