import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_REPORTED_ERRORS } from '../../src/analytics/ingestion.service.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

type Payload = string | object | Buffer;

describe('analytics ingestion with the Tenant Token', () => {
  let t: TestApp;
  let tenant: string;
  beforeEach(async () => {
    t = await createTestApp();
    tenant = t.seed.workspace.tenantToken;
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (url: string, payload: Payload, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url, payload, headers });

  const activities = async () =>
    t.testDb.database.db.selectFrom('user_activities').selectAll().orderBy('seq').execute();

  const metrics = async () =>
    t.testDb.database.db.selectFrom('dimension_data').selectAll().orderBy('seq').execute();

  const basic = (token: string) => ({
    authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}`,
  });

  it('stores one activity with its fields, defaults and legacy aliases', async () => {
    const single = await post(`/analytics/${tenant}`, {
      email: 'ada@example.com',
      externalId: 'u-1',
      companyExternalId: 'acme',
      firstName: 'Ada',
      lastName: 'Lovelace',
      action: 'Logged in',
      weight: 3,
      date: '2024-01-10T08:00:00.000Z',
      info: { plan: 'pro' },
    });
    expect(single.statusCode).toBe(200);
    expect(single.json()).toEqual({ processed: 1, stored: 1, errors: [] });

    const legacy = await post(`/analytics/bulk/${tenant}`, [
      { id: 'u-2', cId: 'globex', name: 'Grace', action: 'Exported', count: 4 },
    ]);
    expect(legacy.json()).toEqual({ processed: 1, stored: 1, errors: [] });

    const [first, second] = await activities();
    expect(first).toMatchObject({
      workspace_id: t.seed.workspace.id,
      email: 'ada@example.com',
      external_id: 'u-1',
      company_external_id: 'acme',
      name: 'Ada Lovelace',
      action: 'Logged in',
      weight: 3,
      count: 1,
      info: '{"plan":"pro"}',
    });
    expect(Number(first?.time)).toBe(Date.parse('2024-01-10T08:00:00.000Z'));
    expect(second).toMatchObject({
      external_id: 'u-2',
      company_external_id: 'globex',
      name: 'Grace',
      weight: 1,
      count: 4,
      info: null,
    });
    // No date: the time of receipt.
    expect(Math.abs(Number(second?.time) - Date.now())).toBeLessThan(60_000);
  });

  it('stores the good items of a bulk post and reports the bad ones with reasons', async () => {
    const response = await post(`/analytics/bulk/${tenant}`, [
      { email: 'one@example.com', action: 'a' },
      { action: 'no user' },
      'not an object',
      { externalId: 'u-3', weight: -1 },
      { externalId: 'u-4', date: 'yesterday-ish' },
      { externalId: 'u-5', action: 'b' },
    ]);

    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      processed: 6,
      stored: 2,
      errors: [
        { item: { action: 'no user' }, error: 'email or externalId must be specified' },
        { item: 'not an object', error: 'activity must be an object' },
        { item: { externalId: 'u-3', weight: -1 }, error: 'weight must not be negative' },
        {
          item: { externalId: 'u-4', date: 'yesterday-ish' },
          error: 'date must be a valid date string',
        },
      ],
    });
    expect((await activities()).map((row) => row.action)).toEqual(['a', 'b']);
  });

  it('takes an array on the single route and an object on the bulk route', async () => {
    expect((await post(`/analytics/${tenant}`, [{ email: 'a@example.com' }])).json()).toEqual({
      processed: 1,
      stored: 1,
      errors: [],
    });
    expect((await post(`/analytics/bulk/${tenant}`, { email: 'b@example.com' })).json()).toEqual({
      processed: 1,
      stored: 1,
      errors: [],
    });
    expect((await post(`/analytics/bulk/${tenant}`, [])).json()).toEqual({
      processed: 0,
      stored: 0,
      errors: [],
    });
    expect(await activities()).toHaveLength(2);
  });

  it('takes activities and metrics at the unverified /dock aliases too', async () => {
    const activity = await post(`/dock/${tenant}`, [{ email: 'a@example.com', action: 'x' }]);
    expect(activity.json()).toEqual({ processed: 1, stored: 1, errors: [] });
    const metric = await post(`/dock/metrics/${tenant}`, {
      dimensionId: 'seats',
      value: 2,
      externalId: 'acme',
    });
    expect(metric.json()).toEqual({ processed: 1, stored: 1, errors: [] });
    expect((await activities()).map((row) => row.action)).toEqual(['x']);
    expect((await metrics()).map((row) => row.dimension_id)).toEqual(['seats']);

    const unknown = await post('/dock/00000000-0000-4000-8000-000000000000', []);
    expect(unknown.statusCode).toBe(404);
    expect((await post('/dock/not-a-token', [])).json()).not.toHaveProperty('processed');
  });

  it('stores custom metrics as an object or an array, at both addresses', async () => {
    const one = await post(`/dimensiondata/${tenant}`, {
      dimensionId: 'activeusershare',
      value: 0.42,
      externalId: 'acme',
      date: '2024-01-10',
    });
    expect(one.json()).toEqual({ processed: 1, stored: 1, errors: [] });

    const many = await post(`/${tenant}/dimensiondata`, [
      { dimensionId: 'seats', value: 12, companyExternalId: 'globex' },
      { value: 1, externalId: 'my_id', model: 'Company' },
      { dimensionId: 'cpus', value: 'many', externalId: 'acme' },
      { dimensionId: 'logins', value: 3, externalId: 'u-1', model: 'EndUser' },
    ]);
    expect(many.statusCode).toBe(200);
    expect(many.json()).toEqual({
      processed: 4,
      stored: 2,
      errors: [
        {
          item: { value: 1, externalId: 'my_id', model: 'Company' },
          error: 'dimensionId must be specified',
        },
        {
          item: { dimensionId: 'cpus', value: 'many', externalId: 'acme' },
          error: 'value must be a number',
        },
      ],
    });

    const rows = await metrics();
    expect(rows.map((row) => [row.dimension_id, row.value, row.model, row.external_id])).toEqual([
      ['activeusershare', 0.42, 'Company', 'acme'],
      ['seats', 12, 'Company', 'globex'],
      ['logins', 3, 'EndUser', 'u-1'],
    ]);
    expect(rows[0]?.day).toBe(Date.parse('2024-01-10') / 86_400_000);
  });

  it('stores Segment track events and accepts identify calls and batches', async () => {
    const track = await post(
      '/dock/segment',
      {
        type: 'track',
        userId: 'u-9',
        event: 'Report exported',
        properties: { format: 'csv' },
        context: { traits: { email: 'nine@example.com', companyId: 'acme' } },
        timestamp: '2024-02-01T10:00:00.000Z',
      },
      basic(tenant),
    );
    expect(track.json()).toEqual({ processed: 1, stored: 1, errors: [] });

    const identify = await post(
      '/dock/segment',
      { type: 'identify', user_id: 'u-9', traits: { name: 'Nine', email: 'nine@example.com' } },
      basic(tenant),
    );
    expect(identify.json()).toEqual({ processed: 1, stored: 0, errors: [] });

    const batch = await post(
      '/dock/segment',
      {
        batch: [
          { type: 'track', userId: 'u-9', event: 'Opened' },
          { type: 'page', userId: 'u-9' },
        ],
      },
      basic(tenant),
    );
    expect(batch.json()).toEqual({
      processed: 2,
      stored: 1,
      errors: [{ item: { type: 'page', userId: 'u-9' }, error: 'type must be identify or track' }],
    });

    const rows = await activities();
    expect(rows.map((row) => [row.action, row.external_id, row.email])).toEqual([
      ['Report exported', 'u-9', 'nine@example.com'],
      ['Opened', 'u-9', null],
    ]);
    expect(rows[0]).toMatchObject({ company_external_id: 'acme', info: '{"format":"csv"}' });
  });

  it('asks for the Tenant Token on the Segment route', async () => {
    const missing = await post('/dock/segment', { type: 'track', userId: 'u' });
    expect(missing.statusCode).toBe(401);
    expect(missing.json().error).toBe('unauthenticated');
    expect(missing.headers['www-authenticate']).toMatch(/^Basic /);

    const bearer = await post(
      '/dock/segment',
      { type: 'track', userId: 'u' },
      { authorization: `Bearer ${tenant}` },
    );
    expect(bearer.statusCode).toBe(200);

    const wrong = await post('/dock/segment', { type: 'track', userId: 'u' }, basic('nope'));
    expect(wrong.statusCode).toBe(404);
    expect(wrong.json().error).toBe('tenant_token_invalid');
  });

  it('tolerates a Bearer token and any content type, and reads gzip bodies', async () => {
    const withBearer = await post(
      `/dimensiondata/${tenant}`,
      { dimensionId: 'x', value: 1, externalId: 'acme' },
      { authorization: 'Bearer apc_not_checked_here' },
    );
    expect(withBearer.statusCode).toBe(200);

    const asText = await post(`/analytics/${tenant}`, '{"email":"t@example.com"}', {
      'content-type': 'text/plain',
    });
    expect(asText.json().stored).toBe(1);

    const zipped = await post(
      `/analytics/bulk/${tenant}`,
      gzipSync(JSON.stringify([{ email: 'z@example.com' }, { email: 'y@example.com' }])),
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    );
    expect(zipped.json()).toEqual({ processed: 2, stored: 2, errors: [] });

    const unknown = await post(`/analytics/${tenant}`, '{}', { 'content-encoding': 'zstd' });
    expect(unknown.statusCode).toBe(415);
  });

  it('lets tracking scripts post from any origin', async () => {
    const preflight = await t.app.inject({
      method: 'OPTIONS',
      url: `/analytics/${tenant}`,
      headers: {
        origin: 'https://app.customer.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': '*',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': expect.stringContaining('content-type'),
    });

    const posted = await post(
      `/analytics/${tenant}`,
      { email: 'a@example.com' },
      { origin: 'https://app.customer.example' },
    );
    expect(posted.headers['access-control-allow-origin']).toBe('*');

    // The main API stays same-origin.
    const login = await t.app.inject({
      method: 'OPTIONS',
      url: '/auth/login',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(login.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('answers 400 to malformed JSON and stores nothing from it', async () => {
    const good = JSON.stringify(Array.from({ length: 6_000 }, () => ({ email: 'a@example.com' })));
    const cases = [good.slice(0, -1), `${good.slice(0, -1)},]`, '', '[{"email": "a@b.c"} {}]'];
    for (const body of cases) {
      const response = await post(`/analytics/bulk/${tenant}`, body, {
        'content-type': 'application/json',
      });
      expect(response.statusCode, body.slice(-20)).toBe(400);
      expect(response.json().error).toBe('invalid_json');
    }
    expect(await activities()).toHaveLength(0);
  });

  it('answers 404 with a clear message for an unknown Tenant Token', async () => {
    for (const url of [
      '/analytics/00000000-0000-4000-8000-000000000000',
      '/analytics/bulk/not-a-token',
      '/dimensiondata/00000000-0000-4000-8000-000000000000',
      '/00000000-0000-4000-8000-000000000000/dimensiondata',
    ]) {
      const response = await post(url, { email: 'a@example.com' });
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toMatchObject({
        error: 'tenant_token_invalid',
        message: expect.stringContaining('Tenant Token'),
      });
    }
    expect(await activities()).toHaveLength(0);
  });

  it('stops the old Tenant Token the moment it is regenerated', async () => {
    const admin: Session = await t.login();
    expect((await post(`/analytics/${tenant}`, { email: 'a@example.com' })).statusCode).toBe(200);

    const regenerated = await t.as(admin, {
      method: 'POST',
      url: '/manage/settings/tenant-token/regenerate',
    });
    const fresh = regenerated.json().tenantToken as string;
    expect(fresh).not.toBe(tenant);

    expect((await post(`/analytics/${tenant}`, { email: 'b@example.com' })).statusCode).toBe(404);
    expect(
      (await post(`/dock/segment`, { type: 'track', userId: 'u' }, basic(tenant))).statusCode,
    ).toBe(404);
    expect((await post(`/analytics/${fresh}`, { email: 'c@example.com' })).statusCode).toBe(200);
    expect((await activities()).map((row) => row.email)).toEqual([
      'a@example.com',
      'c@example.com',
    ]);
  });

  it('keeps each workspace to its own rows', async () => {
    const other = await t.seedWorkspace('Globex', 'admin@globex.test');
    await post(`/analytics/${other.workspace.tenantToken}`, { email: 'g@example.com' });
    await post(`/analytics/${tenant}`, { email: 'a@example.com' });
    const rows = await activities();
    expect(rows.map((row) => [row.workspace_id, row.email])).toEqual([
      [other.workspace.id, 'g@example.com'],
      [t.seed.workspace.id, 'a@example.com'],
    ]);
  });

  it('caps the reported errors and says how many more failed', async () => {
    const items = Array.from({ length: MAX_REPORTED_ERRORS + 5 }, () => ({ action: 'x' }));
    const report = (await post(`/analytics/bulk/${tenant}`, items)).json();
    expect(report.processed).toBe(MAX_REPORTED_ERRORS + 5);
    expect(report.errors).toHaveLength(MAX_REPORTED_ERRORS);
    expect(report.omittedErrors).toBe(5);
  });

  it('refuses an item over 1 MB without reading it, and keeps the others', async () => {
    const huge = { email: 'h@example.com', info: { blob: 'x'.repeat(1_100_000) } };
    const report = (
      await post(`/analytics/bulk/${tenant}`, [{ email: 'a@example.com' }, huge])
    ).json();
    expect(report).toEqual({
      processed: 2,
      stored: 1,
      errors: [{ item: null, error: 'item must be at most 1048576 bytes as JSON' }],
    });
  });

  it('stores a 32 MB body of about 150,000 activities in batches', async () => {
    const item = (i: number) => ({
      externalId: `user-${i % 5_000}`,
      companyExternalId: `company-${i % 300}`,
      action: 'Viewed dashboard',
      date: new Date(1_700_000_000_000 + i * 1_000).toISOString(),
      info: { page: '/reports/weekly', i },
    });
    const parts: string[] = [];
    let bytes = 2;
    let count = 0;
    while (bytes < 32 * 1024 * 1024 - 400) {
      const text = JSON.stringify(item(count));
      parts.push(text);
      bytes += text.length + 1;
      count += 1;
    }
    const body = `[${parts.join(',')}]`;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(count).toBeGreaterThan(150_000);

    const response = await post(`/analytics/bulk/${tenant}`, body, {
      'content-type': 'application/json',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ processed: count, stored: count, errors: [] });

    const { rows } = await sql<{ n: number }>`select count(*) as n from user_activities`.execute(
      t.testDb.database.db,
    );
    expect(Number(rows[0]?.n)).toBe(count);
  }, 120_000);

  it('answers 413 to a body over 32 MB, by header or by counting', async () => {
    const over = 32 * 1024 * 1024 + 1;
    const declared = await t.app.inject({
      method: 'POST',
      url: `/analytics/bulk/${tenant}`,
      payload: Buffer.alloc(10, 0x20),
      headers: { 'content-type': 'application/json', 'content-length': String(over) },
    });
    expect(declared.statusCode).toBe(413);

    const body = `[${'"x",'.repeat(over / 4)}"x"]`;
    const counted = await post(`/analytics/bulk/${tenant}`, body, {
      'content-type': 'application/json',
    });
    expect(counted.statusCode).toBe(413);
    expect(counted.json().error).toBe('payload_too_large');
    expect(counted.headers.connection).toBe('close');

    // A gzip body is measured as it inflates, so it cannot grow past the limit either.
    const zipped = await post(`/analytics/bulk/${tenant}`, gzipSync(body), {
      'content-encoding': 'gzip',
    });
    expect(zipped.statusCode).toBe(413);
    expect(await activities()).toHaveLength(0);
  }, 60_000);

  it('keeps the main API body limit elsewhere', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email: 'a@example.com', password: 'x'.repeat(t.config.bodyLimitBytes) },
    });
    expect(response.statusCode).toBe(413);
  });
});

describe('analytics ingestion rate limit', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp({ analyticsRateLimitPerMinute: 3 });
  });
  afterEach(async () => {
    await t.close();
  });

  it('answers 429 with Retry-After once a workspace passes its posts per minute', async () => {
    const tenant = t.seed.workspace.tenantToken;
    const other = await t.seedWorkspace('Globex', 'admin@globex.test');
    const post = (token: string) =>
      t.app.inject({
        method: 'POST',
        url: `/analytics/${token}`,
        payload: { email: 'a@example.com' },
      });

    for (let i = 0; i < 3; i += 1) expect((await post(tenant)).statusCode).toBe(200);
    const limited = await post(tenant);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error).toBe('rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['x-rate-limit-limit']).toBe('3');
    expect(limited.headers['x-rate-limit-remaining']).toBe('0');

    // The limit is the workspace's across every ingestion route, not the caller's.
    const metric = await t.app.inject({
      method: 'POST',
      url: `/dimensiondata/${tenant}`,
      payload: { dimensionId: 'x', value: 1, externalId: 'acme' },
    });
    expect(metric.statusCode).toBe(429);
    expect((await post(other.workspace.tenantToken)).statusCode).toBe(200);
  });
});
