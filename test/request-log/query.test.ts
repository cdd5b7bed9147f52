import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';
import { ALL, NONE, VIEW, logEntry, readLogs, seedRows } from './log-helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('request log queries', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;
  let scope: { workspaceId: string; appId: string; tokenId: string };

  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, { models: { Company: VIEW }, fields: {} });
    scope = { workspaceId: t.seed.workspace.id, appId: app.id, tokenId: app.tokenId };
  });
  afterEach(async () => {
    await t.close();
  });

  const get = (url: string) => t.as(admin, { method: 'GET', url });

  it('pages newest first with no row skipped or repeated while new rows arrive', async () => {
    for (let i = 0; i < 25; i += 1) {
      await t.app.inject({ method: 'GET', url: `/myprofile?n=${i}`, headers: bearer(app.token) });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let arriving = 100;
    do {
      const page = await readLogs(t, admin, app.id, {
        limit: 7,
        ...(cursor === null ? {} : { cursor }),
      });
      seen.push(...page.items.map((row) => row.path));
      cursor = page.nextCursor;
      // New requests land between pages; they belong above the first page, never below.
      await t.app.inject({
        method: 'GET',
        url: `/myprofile?n=${arriving++}`,
        headers: bearer(app.token),
      });
    } while (cursor !== null);

    const expected = Array.from({ length: 25 }, (_, i) => `/myprofile?n=${24 - i}`);
    expect(seen).toEqual(expected);

    const fresh = await readLogs(t, admin, app.id, { limit: 200 });
    expect(fresh.items).toHaveLength(25 + (arriving - 100));
    expect(fresh.nextCursor).toBeNull();
  });

  it('filters by time, method, status, path, token and error code', async () => {
    const now = Date.now();
    const other = 'other-token-id';
    await seedRows(t, [
      logEntry(scope, { at: now - 3 * HOUR, path: '/companies?limit=5' }),
      logEntry(scope, { at: now - 2 * HOUR, method: 'POST', status: 201, path: '/companies' }),
      logEntry(scope, {
        at: now - HOUR,
        status: 403,
        errorCode: 'forbidden',
        path: '/endusers',
        tokenId: other,
      }),
      logEntry(scope, { at: now - MINUTE, status: 500, errorCode: 'internal', path: '/Tasks' }),
    ]);
    const paths = async (query: Record<string, string | number>) =>
      (await readLogs(t, admin, app.id, query)).items.map((row) => row.path);

    expect(await paths({})).toEqual(['/Tasks', '/endusers', '/companies', '/companies?limit=5']);
    expect(await paths({ from: new Date(now - 150 * MINUTE).toISOString() })).toEqual([
      '/Tasks',
      '/endusers',
      '/companies',
    ]);
    expect(await paths({ from: now - 150 * MINUTE, to: now - 30 * MINUTE })).toEqual([
      '/endusers',
      '/companies',
    ]);
    expect(await paths({ method: 'post' })).toEqual(['/companies']);
    expect(await paths({ status: '2xx' })).toEqual(['/companies', '/companies?limit=5']);
    expect(await paths({ status: '4xx' })).toEqual(['/endusers']);
    expect(await paths({ status: '5xx' })).toEqual(['/Tasks']);
    expect(await paths({ status: '201' })).toEqual(['/companies']);
    expect(await paths({ path: 'compan' })).toEqual(['/companies', '/companies?limit=5']);
    expect(await paths({ path: 'tasks' })).toEqual(['/Tasks']);
    expect(await paths({ path: '%' })).toEqual([]);
    expect(await paths({ tokenId: other })).toEqual(['/endusers']);
    expect(await paths({ errorCode: 'internal' })).toEqual(['/Tasks']);

    for (const query of ['status=2x', 'from=yesterday', 'limit=201', 'cursor=bm9wZQ']) {
      const response = await get(`/manage/private-apps/${app.id}/logs?${query}`);
      expect(response.statusCode, query).toBe(400);
    }
  });

  it('shows one entry in detail', async () => {
    await t.app.inject({ method: 'GET', url: '/myprofile', headers: bearer(app.token) });
    const [row] = (await readLogs(t, admin, app.id)).items;
    const detail = await get(`/manage/private-apps/${app.id}/logs/${row?.id}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.json()).toEqual(row);
    expect((await get(`/manage/private-apps/${app.id}/logs/999999`)).statusCode).toBe(404);
    expect((await get(`/manage/private-apps/${app.id}/logs/abc`)).statusCode).toBe(404);
  });

  it('summarizes counts by status class and duration percentiles per bucket', async () => {
    const start = Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;
    const rows = [];
    for (let i = 1; i <= 100; i += 1) {
      rows.push(logEntry(scope, { at: start + 10 * MINUTE, durationMs: i }));
    }
    rows.push(logEntry(scope, { at: start + HOUR + MINUTE, status: 404, durationMs: 3 }));
    rows.push(logEntry(scope, { at: start + HOUR + 2 * MINUTE, status: 503, durationMs: 9 }));
    await seedRows(t, rows);

    const response = await get(
      `/manage/private-apps/${app.id}/logs/summary?from=${start}&to=${start + 3 * HOUR}&bucket=1h`,
    );
    expect(response.statusCode).toBe(200);
    const summary = response.json();
    expect(summary.bucketSeconds).toBe(3600);
    expect(summary.buckets).toEqual([
      { start: new Date(start).toISOString(), s2xx: 100, s4xx: 0, s5xx: 0, p50: 50, p95: 95 },
      {
        start: new Date(start + HOUR).toISOString(),
        s2xx: 0,
        s4xx: 1,
        s5xx: 1,
        p50: 3,
        p95: 9,
      },
      {
        start: new Date(start + 2 * HOUR).toISOString(),
        s2xx: 0,
        s4xx: 0,
        s5xx: 0,
        p50: null,
        p95: null,
      },
    ]);

    const seconds = await get(
      `/manage/private-apps/${app.id}/logs/summary?from=${start}&to=${start + HOUR}&bucket=1800`,
    );
    expect(seconds.json().buckets.map((b: { s2xx: number }) => b.s2xx)).toEqual([100, 0]);
    const byDefault = await get(`/manage/private-apps/${app.id}/logs/summary`);
    expect(byDefault.json().bucketSeconds).toBe(300);
    expect(byDefault.json().buckets.length).toBeGreaterThanOrEqual(288);
    const tooMany = await get(
      `/manage/private-apps/${app.id}/logs/summary?from=0&to=${Date.now()}&bucket=1m`,
    );
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().field).toBe('bucket');
  });

  it('exports the filtered rows as CSV and NDJSON', async () => {
    await seedRows(t, [
      logEntry(scope, { path: '/companies?q=a,"b"', at: Date.now() - 2_000 }),
      logEntry(scope, { userAgent: '=HYPERLINK("x")', at: Date.now() - 1_000, status: 404 }),
    ]);
    const csv = await get(`/manage/private-apps/${app.id}/logs/export?format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain(`logs-${app.id}.csv`);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]?.startsWith('id,at,method,route,path,status,')).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(`'=HYPERLINK(""x"")`);
    expect(lines[2]).toContain('"/companies?q=a,""b"""');

    const ndjson = await get(`/manage/private-apps/${app.id}/logs/export?status=4xx`);
    expect(ndjson.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const objects = ndjson.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(objects).toHaveLength(1);
    expect(objects[0]).toMatchObject({ status: 404, userAgent: '=HYPERLINK("x")' });
  });

  it('streams large exports whole', async () => {
    const rows = Array.from({ length: 2_345 }, (_, i) =>
      logEntry(scope, { at: Date.now() - 10_000 + i, path: `/companies/${i}` }),
    );
    await seedRows(t, rows);
    const ndjson = await get(`/manage/private-apps/${app.id}/logs/export?format=ndjson`);
    const paths = ndjson.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line).path);
    expect(paths).toHaveLength(2_345);
    expect(paths[0]).toBe('/companies/2344');
    expect(new Set(paths).size).toBe(2_345);
  });

  it('needs ServiceAccount view, export for exports, and hides other workspaces', async () => {
    const viewer = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: VIEW }, fields: {} },
      'Viewer',
    );
    const asViewer = (url: string) =>
      t.app.inject({ method: 'GET', url, headers: bearer(viewer.token) });
    expect((await asViewer(`/manage/private-apps/${app.id}/logs`)).statusCode).toBe(200);
    const exported = await asViewer(`/manage/private-apps/${app.id}/logs/export`);
    expect(exported.statusCode).toBe(403);
    expect(exported.json().permission).toBe('ServiceAccount.export');

    const blind = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: NONE }, fields: {} },
      'Blind',
    );
    for (const suffix of ['logs', 'logs/summary', 'logs/1', 'suggested-permissions']) {
      const response = await t.app.inject({
        method: 'GET',
        url: `/manage/private-apps/${app.id}/${suffix}`,
        headers: bearer(blind.token),
      });
      expect(response.statusCode, suffix).toBe(403);
      expect(response.json().permission).toBe('ServiceAccount.view');
    }

    const other = await t.seedWorkspace('Other', 'admin@other.test');
    const otherAdmin = await t.login(other.admin.email);
    const full = await createAppWithToken(
      t,
      otherAdmin,
      { models: { ServiceAccount: ALL }, fields: {} },
      'Foreign',
    );
    for (const suffix of ['logs', 'logs/summary', 'logs/export', 'suggested-permissions']) {
      const asMember = await t.as(otherAdmin, {
        method: 'GET',
        url: `/manage/private-apps/${app.id}/${suffix}`,
      });
      expect(asMember.statusCode, suffix).toBe(404);
      const asApp = await t.app.inject({
        method: 'GET',
        url: `/manage/private-apps/${app.id}/${suffix}`,
        headers: bearer(full.token),
      });
      expect(asApp.statusCode, suffix).toBe(404);
    }
    const apply = await t.as(otherAdmin, {
      method: 'POST',
      url: `/manage/private-apps/${app.id}/suggested-permissions/apply`,
      payload: {},
    });
    expect(apply.statusCode).toBe(404);
  });
});
