import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('the Tenant Token in logs', () => {
  let t: TestApp;
  let tenant: string;
  beforeEach(async () => {
    // The most verbose level, so that Fastify's own debug lines are checked too.
    t = await createTestApp({ logLevel: 'trace', analyticsRateLimitPerMinute: 12 });
    tenant = t.seed.workspace.tenantToken;
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (url: string, payload: string | object, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers: { ...headers } });

  it('never reaches a log line or a request-log row, on any path', async () => {
    const admin = await t.login();
    const api = await createAppWithToken(t, admin, { models: {}, fields: {} });
    const json = { 'content-type': 'application/json' };
    const basic = { authorization: `Basic ${Buffer.from(`${tenant}:`).toString('base64')}` };

    const statuses = [
      (await post(`/analytics/${tenant}`, { email: 'a@example.com' })).statusCode,
      (await post(`/analytics/bulk/${tenant}?source=${tenant}`, [{ bad: 1 }])).statusCode,
      (await post(`/dimensiondata/${tenant}`, { value: 1 }, bearer(api.token))).statusCode,
      (await post(`/${tenant}/dimensiondata`, [])).statusCode,
      (await post('/dock/segment', { type: 'track', userId: 'u' }, basic)).statusCode,
      (await post(`/analytics/bulk/${tenant}`, '[{"email": ', json)).statusCode,
      (await post(`/analytics/${tenant}`, 'x'.repeat(33 * 1024 * 1024), json)).statusCode,
      (await post(`/analytics/${tenant}`, '{}', { 'content-encoding': 'compress' })).statusCode,
      (await post(`/analytics/${tenant.replace(/.$/, 'x')}`, {})).statusCode,
      (await t.app.inject({ method: 'GET', url: `/analytics/${tenant}` })).statusCode,
      (await t.app.inject({ method: 'PUT', url: `/analytics/bulk/${tenant}/extra` })).statusCode,
      (await t.app.inject({ method: 'GET', url: `/analytics/${tenant}%zz` })).statusCode,
      (await t.app.inject({ method: 'GET', url: `/useractivities?email=${tenant}` })).statusCode,
    ];
    expect(statuses).toEqual([200, 200, 200, 200, 200, 400, 413, 415, 404, 404, 404, 400, 401]);

    // A failure inside the handler is logged in full, with its stack.
    await sql`drop table user_activities`.execute(t.testDb.database.db);
    expect((await post(`/analytics/${tenant}`, { email: 'a@example.com' })).statusCode).toBe(500);

    // Past the rate limit.
    let limited = 0;
    for (let i = 0; i < 10; i += 1) {
      const response = await post(`/dimensiondata/${tenant}`, []);
      if (response.statusCode === 429) limited += 1;
    }
    expect(limited).toBeGreaterThan(0);

    await t.app.requestLog.flush();
    const rows = await t.testDb.database.db.selectFrom('request_logs').selectAll().execute();

    const logs = t.logs.join('');
    expect(logs).toContain('"route":"/analytics/:tenantToken"');
    expect(logs).toContain('"level":50');
    expect(logs).toContain(`"workspace":"${t.seed.workspace.id}"`);
    expect(logs).not.toContain(tenant);
    expect(logs).not.toContain(tenant.slice(0, 23));
    expect(JSON.stringify(rows)).not.toContain(tenant);
  }, 60_000);
});
