import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { authenticationPlugin } from '../../src/auth/authentication.plugin.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('HTTP conventions', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ bodyLimitBytes: 2048 });
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers health, readiness and Prometheus metrics', async () => {
    expect((await t.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ready' });
    await t.app.inject({ url: '/healthz' });
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(
      /app_center_requests_total\{operation="health.live",status="200"\} 2/,
    );
    expect(metrics.body).toContain('app_center_request_duration_seconds_bucket');
    expect(metrics.body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('serves an OpenAPI 3 document of the routes, and a page rendering it', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/auth/login',
        '/manage/private-apps',
        '/manage/private-apps/{id}/tokens',
      ]),
    );
    const page = await t.app.inject({ url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });

  it('puts a request id and security headers on every response', async () => {
    const response = await t.app.inject({ url: '/healthz' });
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  it('answers unknown routes and oversized bodies with the envelope', async () => {
    const missing = await t.app.inject({ url: '/nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      error: 'route_not_found',
      requestId: expect.any(String),
    });

    const big = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'a@b.c', password: 'x'.repeat(5000) },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json().error).toBe('payload_too_large');

    const proto = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"email":"a@b.c","password":"p","__proto__":{"admin":true}}',
    });
    expect(proto.statusCode).toBe(400);
  });

  it('logs one line per request with the route pattern, never the URL or credentials', async () => {
    const session = await t.login();
    await t.as(session, { method: 'GET', url: '/manage/private-apps/abc123?secret=s3cr3t' });
    const lines = t.logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    const line = lines.find((l) => l.operation === 'privateApp.get');
    expect(line).toMatchObject({
      route: '/manage/private-apps/:id',
      status: 404,
      workspace: t.seed.workspace.id,
      actor: `member:${t.seed.admin.id}`,
      msg: 'request completed',
    });
    const all = t.logs.join('');
    expect(all).not.toContain('s3cr3t');
    expect(all).not.toContain(session.cookie.split('=')[1]);
    expect(all).not.toContain(session.csrfToken);
  });

  it('refuses to start with a route that declares no authentication', async () => {
    const bare = Fastify();
    await bare.register(authenticationPlugin, {
      sessions: {} as never,
      tokens: {} as never,
      cookieName: 'x',
    });
    expect(() => bare.get('/undeclared', async () => 'open')).toThrow(/declares no auth mode/);
    await bare.close();
  });
});
