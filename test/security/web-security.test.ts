import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../helpers/test-app.js';

describe('cookies, CSRF, headers and limits', () => {
  const apps: TestApp[] = [];
  afterEach(async () => {
    for (const t of apps.splice(0)) await t.close();
  });
  async function make(overrides = {}) {
    const t = await createTestApp(overrides);
    apps.push(t);
    return t;
  }

  it('issues __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ cookies behind HTTPS', async () => {
    const t = await make({ publicUrl: 'https://appcenter.example.com' });
    const response = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: t.seed.admin.email, password: ADMIN_PASSWORD },
    });
    const header = String(response.headers['set-cookie']);
    expect(header).toMatch(/^__Host-app_center_session=/);
    expect(header).toMatch(/; Secure/);
    expect(header).toMatch(/; HttpOnly/);
    expect(header).toMatch(/; SameSite=Lax/);
    expect(header).toMatch(/; Path=\//);
    expect(header).not.toMatch(/Domain=/i);
    expect(response.headers['strict-transport-security']).toBeDefined();
  });

  it('refuses cookie writes from another site, a foreign Origin, or without the token', async () => {
    const t = await make();
    const session = await t.login();
    const write = (headers: Record<string, string>) =>
      t.app.inject({
        method: 'POST',
        url: '/manage/private-apps',
        headers: { cookie: session.cookie, ...headers },
        payload: { name: 'CSRF' },
      });
    const token = { 'x-csrf-token': session.csrfToken };
    expect((await write({ ...token, 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await write({ ...token, 'sec-fetch-site': 'same-site' })).statusCode).toBe(403);
    expect((await write({ ...token, origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await write({})).statusCode).toBe(403);
    expect((await write({ 'x-csrf-token': 'forged' })).statusCode).toBe(403);
    expect((await write({ ...token, 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
  });

  it('refuses form and text bodies on JSON routes with 415', async () => {
    const t = await make();
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data']) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': type },
        payload: 'email=a@b.c&password=x',
      });
      expect(response.statusCode, type).toBe(415);
    }
  });

  it('answers an oversized body with 413 without growing memory', async () => {
    const t = await make({ bodyLimitBytes: 64 * 1024 });
    const body = JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(64 * 1024) });
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 100; i += 1) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: body,
      });
      expect(response.statusCode).toBe(413);
    }
    expect(process.memoryUsage().rss - before).toBeLessThan(50 * 1024 * 1024);
  });

  it('closes a slowloris connection within the request timeout', async () => {
    const t = await make({ requestTimeoutMs: 1_000 });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const address = t.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const started = Date.now();
    const closed = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
            'Content-Length: 100\r\n\r\n{',
        );
      });
      let answer = '';
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', () => resolve(answer));
    });
    expect(Date.now() - started).toBeLessThan(1_000 + 1_500);
    expect(closed === '' || closed.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('sets nosniff everywhere, no-store on authenticated JSON, no CORS for strangers', async () => {
    const t = await make();
    const session = await t.login();
    const authed = await t.as(session, { method: 'GET', url: '/manage/roles' });
    expect(authed.headers['x-content-type-options']).toBe('nosniff');
    expect(authed.headers['cache-control']).toBe('no-store');
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: '/manage/roles',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const cross = await t.as(session, {
      method: 'GET',
      url: '/manage/roles',
      headers: { origin: 'https://evil.example' },
    });
    expect(cross.headers['access-control-allow-origin']).toBeUndefined();
    const trace = await t.app.inject({ method: 'TRACE' as 'GET', url: '/manage/roles' });
    expect([404, 405]).toContain(trace.statusCode);
  });
});
