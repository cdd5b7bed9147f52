import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateToken, TOKEN_PREFIX } from '../../src/tokens/token-format.js';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const VIEW = { create: false, view: true, update: false, remove: false, export: false };
const COMPANY_VIEW = { models: { Company: VIEW }, fields: {} };

describe('authentication with API Access Tokens', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;
  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, COMPANY_VIEW, 'Reporter');
  });
  afterEach(async () => {
    await t.close();
  });

  const profile = (headers: Record<string, string>, url = '/myprofile') =>
    t.app.inject({ method: 'GET', url, headers });

  it('accepts Bearer and Basic and says who the token is', async () => {
    const viaBearer = await profile(bearer(app.token));
    expect(viaBearer.statusCode).toBe(200);
    expect(viaBearer.json()).toMatchObject({
      type: 'privateApp',
      _id: app.id,
      name: 'Reporter',
      workspace: { id: t.seed.workspace.id, name: 'Acme' },
      permissions: COMPANY_VIEW,
      token: { id: app.tokenId, expiresAt: null },
    });
    expect(viaBearer.json().token.hint).toBe(`${TOKEN_PREFIX}_…${app.token.slice(-4)}`);
    expect(viaBearer.body).not.toContain(app.token);

    const basic = Buffer.from(`${app.token}:`).toString('base64');
    const viaBasic = await profile({ authorization: `Basic ${basic}` });
    expect(viaBasic.statusCode).toBe(200);
  });

  it('names why a token is refused, with WWW-Authenticate', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'token_missing'],
      [bearer('not-a-token'), 'token_malformed'],
      [
        bearer(`${app.token.slice(0, -1)}${app.token.endsWith('A') ? 'B' : 'A'}`),
        'token_malformed',
      ],
      [bearer(generateToken()), 'token_invalid'],
    ];
    for (const [headers, code] of cases) {
      const response = await profile(headers);
      expect(response.statusCode, code).toBe(401);
      expect(response.json().error).toBe(code);
      expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="app-center"/);
    }
  });

  it('never takes a token from the query string or a cookie from the main API', async () => {
    expect((await profile({}, `/myprofile?token=${app.token}`)).json().error).toBe('token_missing');
    expect((await profile({}, `/myprofile?access_token=${app.token}`)).json().error).toBe(
      'token_missing',
    );
    const withCookie = await t.app.inject({
      method: 'GET',
      url: '/myprofile',
      headers: { cookie: admin.cookie },
    });
    expect(withCookie.statusCode).toBe(401);
  });

  it('never opens a session route with a token', async () => {
    const me = await t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(app.token) });
    expect(me.statusCode).toBe(401);
    expect(me.cookies).toHaveLength(0);
  });

  it('stops a deleted token at once and leaves the app’s other tokens working', async () => {
    const second = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens`,
      payload: { label: 'second' },
    });
    const secondToken = second.json().token as string;
    expect((await profile(bearer(app.token))).statusCode).toBe(200);

    const removed = await t.as(admin, {
      method: 'DELETE',
      url: `/manage/private-apps/${app.id}/tokens/${app.tokenId}`,
    });
    expect(removed.statusCode).toBe(204);
    const after = await profile(bearer(app.token));
    expect(after.statusCode).toBe(401);
    expect(after.json().error).toBe('token_revoked');
    expect((await profile(bearer(secondToken))).statusCode).toBe(200);

    const list = await t.as(admin, { method: 'GET', url: `/manage/private-apps/${app.id}/tokens` });
    expect(list.json().map((x: { label: string }) => x.label)).toEqual(['second']);
  });

  it('refuses tokens of a disabled app and serves them again once enabled', async () => {
    await profile(bearer(app.token));
    const toggle = (enabled: boolean) =>
      t.as(admin, { method: 'PATCH', url: `/manage/private-apps/${app.id}`, payload: { enabled } });
    await toggle(false);
    const disabled = await profile(bearer(app.token));
    expect(disabled.json().error).toBe('app_disabled');
    await toggle(true);
    expect((await profile(bearer(app.token))).statusCode).toBe(200);
  });

  it('stops every token of a deleted app', async () => {
    await profile(bearer(app.token));
    await t.as(admin, { method: 'DELETE', url: `/manage/private-apps/${app.id}` });
    expect((await profile(bearer(app.token))).json().error).toBe('token_revoked');
  });

  it('honours an expiry and otherwise lasts until deleted', async () => {
    const expiresAt = new Date(Date.now() + 1_000).toISOString();
    const issued = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens`,
      payload: { expiresAt },
    });
    expect(issued.json().info.expiresAt).toBe(expiresAt);
    const token = issued.json().token as string;
    expect((await profile(bearer(token))).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await profile(bearer(token))).json().error).toBe('token_expired');
    expect((await profile(bearer(app.token))).statusCode).toBe(200);

    const past = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/tokens`,
      payload: { expiresAt: '2020-01-01T00:00:00.000Z' },
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().field).toBe('expiresAt');
  });

  it('rotates: the new token works at once, the old one until its grace ends', async () => {
    const rotate = (tokenId: string, graceSeconds: number) =>
      t.as(admin, {
        method: 'POST',
        url: `/manage/private-apps/${app.id}/tokens/${tokenId}/rotate`,
        payload: { graceSeconds },
      });
    await profile(bearer(app.token));
    const withGrace = await rotate(app.tokenId, 3600);
    expect(withGrace.statusCode).toBe(200);
    const next = withGrace.json();
    expect(next.retiring.replacedBy).toBe(next.info.id);
    expect((await profile(bearer(app.token))).statusCode).toBe(200);
    expect((await profile(bearer(next.token))).statusCode).toBe(200);

    const immediate = await rotate(next.info.id, 0);
    expect((await profile(bearer(next.token))).json().error).toBe('token_rotated');
    expect((await profile(bearer(immediate.json().token))).statusCode).toBe(200);

    const tooLong = await rotate(immediate.json().info.id, 8 * 24 * 3600);
    expect(tooLong.statusCode).toBe(400);
  });

  it('enforces an IP allowlist in IPv4 and IPv6', async () => {
    const allow = (ipAllowlist: string[]) =>
      t.as(admin, {
        method: 'PATCH',
        url: `/manage/private-apps/${app.id}`,
        payload: { ipAllowlist },
      });
    expect((await allow(['10.0.0.0/8', '2001:db8::/32'])).statusCode).toBe(200);
    const outside = await profile(bearer(app.token));
    expect(outside.statusCode).toBe(403);
    expect(outside.json().error).toBe('ip_not_allowed');

    await allow(['127.0.0.0/8']);
    expect((await profile(bearer(app.token))).statusCode).toBe(200);
    const bad = await allow(['10.0.0.0/33']);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('ipAllowlist');
  });

  it('rate-limits per app with Planhat’s headers', async () => {
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { rateLimitPerSecond: 5 },
    });
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 7; i += 1) {
      last = await profile(bearer(app.token));
      statuses.push(last.statusCode);
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(5);
    expect(statuses).toContain(429);
    expect(last?.headers['x-rate-limit-limit']).toBe('5');
    expect(last?.headers['x-rate-limit-remaining']).toBe('0');
    expect(last?.headers['retry-after']).toBeDefined();
  });

  it('lets whoever holds a leaked token revoke it, answering alike for anything', async () => {
    const revoke = (tokens: string[]) =>
      t.app.inject({ method: 'POST', url: '/tokens/revoke', payload: { tokens } });
    const garbage = await revoke(['nonsense', generateToken()]);
    const real = await revoke([app.token]);
    expect(garbage.statusCode).toBe(200);
    expect(real.statusCode).toBe(200);
    expect(real.body).toBe(garbage.body);
    expect((await profile(bearer(app.token))).json().error).toBe('token_revoked');

    const audit = await t.as(admin, { method: 'GET', url: `/manage/private-apps/${app.id}/audit` });
    expect(audit.json()[0]).toMatchObject({
      action: 'privateApp.token.revokeLeaked',
      actor: { type: 'system' },
    });
  });

  it('refuses thousands of made-up tokens of every kind', async () => {
    const random = () => Math.random().toString(36).slice(2) + Math.random().toString(36);
    const made: string[] = [];
    for (let i = 0; i < 1700; i += 1) made.push(random());
    for (let i = 0; i < 1700; i += 1)
      made.push(`${TOKEN_PREFIX}_${random().padEnd(38, 'x').slice(0, 38)}`);
    for (let i = 0; i < 1700; i += 1) made.push(generateToken());
    for (const token of made) {
      const response = await profile(bearer(token));
      if (response.statusCode !== 401) throw new Error(`accepted ${token}: ${response.body}`);
    }
    expect(made.length).toBeGreaterThanOrEqual(5000);
  });

  it('keeps no token anywhere after it is shown: tables, database file, logs', async () => {
    const tokens = [app.token];
    for (let i = 0; i < 3; i += 1) {
      const issued = await t.as(admin, {
        method: 'POST',
        url: `/manage/private-apps/${app.id}/tokens`,
        payload: {},
      });
      tokens.push(issued.json().token);
      await profile(bearer(issued.json().token));
    }
    const db = t.testDb.database.db;
    const tables = [
      'workspaces',
      'members',
      'roles',
      'sessions',
      'audit_events',
      'private_apps',
      'api_tokens',
      'revocations',
    ];
    for (const table of tables) {
      const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(
        db,
      );
      const dump = JSON.stringify(rows.rows);
      for (const token of tokens) expect(dump, table).not.toContain(token);
    }
    if (t.testDb.target.dialect === 'sqlite') {
      t.testDb.database.sqlite?.pragma('wal_checkpoint(TRUNCATE)');
      const file = readFileSync(t.testDb.target.path).toString('latin1');
      for (const token of tokens) expect(file).not.toContain(token);
    }
    const logs = t.logs.join('');
    for (const token of tokens) expect(logs).not.toContain(token);
  });
});
