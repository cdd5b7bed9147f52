import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../helpers/test-app.js';

describe('login, logout and sessions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('logs in with the seeded administrator and describes the session', async () => {
    const session = await t.login();
    const me = await t.as(session, { method: 'GET', url: '/auth/me' });
    expect(me.statusCode).toBe(200);
    const body = me.json();
    expect(body.member.email).toBe('admin@acme.test');
    expect(body.workspace.name).toBe('Acme');
    expect(body.permissions.models.ServiceAccount.create).toBe(true);
    expect(me.headers['cache-control']).toBe('no-store');
  });

  it('sets an HttpOnly, SameSite=Lax cookie', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'admin@acme.test', password: ADMIN_PASSWORD },
    });
    const cookie = response.cookies[0];
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(cookie?.path).toBe('/');
  });

  it('answers an unknown email exactly like a wrong password', async () => {
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'nobody@acme.test', password: ADMIN_PASSWORD },
    });
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'admin@acme.test', password: 'not the password' },
    });
    expect(unknown.statusCode).toBe(401);
    expect(wrong.statusCode).toBe(401);
    const strip = (body: string) => ({ ...JSON.parse(body), requestId: undefined });
    expect(strip(unknown.body)).toEqual(strip(wrong.body));
    expect(unknown.cookies).toHaveLength(0);
  });

  it('issues a new session id on every login and kills it on logout', async () => {
    const first = await t.login();
    const second = await t.login();
    expect(first.cookie).not.toBe(second.cookie);

    const logout = await t.as(first, { method: 'POST', url: '/auth/logout' });
    expect(logout.statusCode).toBe(204);
    const after = await t.as(first, { method: 'GET', url: '/auth/me' });
    expect(after.statusCode).toBe(401);
    expect(after.json().error).toBe('session_expired');
    const other = await t.as(second, { method: 'GET', url: '/auth/me' });
    expect(other.statusCode).toBe(200);
  });

  it('refuses cookie writes without the CSRF token or from another site', async () => {
    const session = await t.login();
    const noToken = await t.app.inject({
      method: 'POST',
      url: '/manage/roles',
      headers: { cookie: session.cookie },
      payload: { name: 'X', permissions: { models: {} } },
    });
    expect(noToken.statusCode).toBe(403);
    expect(noToken.json().error).toBe('csrf_failed');

    const crossSite = await t.as(session, {
      method: 'POST',
      url: '/manage/roles',
      headers: { 'sec-fetch-site': 'cross-site' },
      payload: { name: 'X', permissions: { models: {} } },
    });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.json().error).toBe('csrf_failed');
  });

  it('rate-limits login attempts per account', async () => {
    const limited = await createTestApp(
      {},
      { loginLimits: { perIpPerMinute: 100, perAccountPerMinute: 3 } },
    );
    try {
      const attempt = () =>
        limited.app.inject({
          method: 'POST',
          url: '/auth/login',
          payload: { email: 'admin@acme.test', password: 'wrong password' },
        });
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await attempt()).statusCode);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const otherAccount = await limited.app.inject({
        method: 'POST',
        url: '/auth/login',
        payload: { email: 'someone@acme.test', password: 'wrong password' },
      });
      expect(otherAccount.statusCode).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it('refuses malformed bodies with the error envelope', async () => {
    const bad = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email": ',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('invalid_json');

    const missing = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'a@b.c' },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ error: 'validation_failed', field: 'password' });

    const text = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
  });
});
