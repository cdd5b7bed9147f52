import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclaredRoute } from '../../src/auth/authentication.plugin.js';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { newId } from '../../src/shared/ids.js';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { seedEveryModel } from '../helpers/record-fixtures.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

interface Workspace {
  session: Session;
  app: CreatedApp;
  tenantToken: string;
  workspaceId: string;
  records: Record<string, string>;
  roleId: string;
  memberId: string;
  logId: string;
}

/** Every table's rows of one workspace, for a before-and-after comparison. */
async function snapshot(t: TestApp, workspaceId: string): Promise<string> {
  const db = t.testDb.database.db;
  const schema = t.testDb.database.schema;
  // On PostgreSQL introspection lists every schema's tables, other suites' included, in no
  // fixed order; only this database's own tables, sorted, make a stable snapshot.
  const tables = (await db.introspection.getTables())
    .filter((table) => schema === undefined || table.schema === schema)
    .sort((x, y) => x.name.localeCompare(y.name));
  const parts: string[] = [];
  for (const table of tables) {
    if (!table.columns.some((c) => c.name === 'workspace_id')) continue;
    if (table.name === 'request_logs' || table.name === 'sessions') continue;
    const rows = await sql<Record<string, unknown>>`select * from ${sql.table(table.name)}
      where workspace_id = ${workspaceId}`.execute(db);
    // Last-used times are written by B's own earlier requests, batched, whenever the
    // request-log writer gets to them; they are not anything A could change.
    const sorted = rows.rows
      .map(({ last_used_at: _at, last_used_ip: _ip, ...row }) => JSON.stringify(row))
      .sort();
    parts.push(`${table.name}:${sorted.join('\n')}`);
  }
  return parts.join('\n');
}

/**
 * From the server's own route table: every route that takes an id, with every method and
 * every principal of workspace A, aimed at workspace B's objects. Each answer must be the
 * one a missing object gets, and B must be left exactly as it was.
 */
describe('tenant isolation', () => {
  let t: TestApp;
  let a: Workspace;
  let b: Workspace;

  async function workspace(email: string | undefined, tag: string): Promise<Workspace> {
    const seed = email === undefined ? t.seed : await t.seedWorkspace(`Workspace ${tag}`, email);
    const session = await t.login(seed.admin.email);
    const app = await createAppWithToken(t, session, fullPermissions(), `App ${tag}`);
    await t.as(session, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { rateLimitPerSecond: 10_000 },
    });
    const records = await seedEveryModel(
      (options) =>
        t.app.inject({ ...options, headers: { ...options.headers, ...bearer(app.token) } }),
      tag,
    );
    const roles = (await t.as(session, { method: 'GET', url: '/manage/roles' })).json();
    // Flush the request log so the workspace has a log row to aim at, and so no late
    // flush (last-used times) changes B while the snapshots are compared.
    await t.app.requestLog.flush();
    const logs = await t.as(session, { method: 'GET', url: `/manage/private-apps/${app.id}/logs` });
    return {
      session,
      app,
      tenantToken: seed.workspace.tenantToken,
      workspaceId: seed.workspace.id,
      records,
      roleId: roles[0].id,
      memberId: seed.admin.id,
      logId: String(logs.json().items?.[0]?.id ?? '1'),
    };
  }

  beforeAll(async () => {
    t = await createTestApp({ logLevel: 'warn' });
    a = await workspace(undefined, 'a');
    b = await workspace('admin@b.test', 'b');
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  /** Fills a route's parameters with B's objects, or with ids that exist nowhere. */
  function target(route: DeclaredRoute, owner: Workspace | undefined): string {
    const model = route.url.split('/')[1] ?? '';
    const ids: Record<string, string> = {
      ':tokenId': owner?.app.tokenId ?? newId(),
      ':logId': owner?.logId ?? '999999999',
    };
    return route.url.replace(/:[A-Za-z]+/g, (param) => {
      if (param in ids) return ids[param] ?? '';
      if (route.url.startsWith('/manage/private-apps')) return owner?.app.id ?? newId();
      if (route.url.startsWith('/manage/roles')) return owner?.roleId ?? newId();
      if (route.url.startsWith('/manage/members')) return owner?.memberId ?? newId();
      if (model === 'users') return owner?.memberId ?? newId();
      return owner?.records[model] ?? newId();
    });
  }

  function routesWithIds(): DeclaredRoute[] {
    return t.app.declaredRoutes.filter(
      (route) =>
        route.method !== 'HEAD' &&
        /:(id|key|tokenId|logId)\b/.test(route.url) &&
        route.auth !== 'tenant-token',
    );
  }

  function body(route: DeclaredRoute): unknown {
    if (route.method === 'GET' || route.method === 'DELETE') return undefined;
    if (route.url.endsWith('/rotate')) return { graceSeconds: 0 };
    if (route.url.endsWith('/apply')) return {};
    if (route.url.endsWith('/tokens')) return {};
    if (route.url.startsWith('/manage/members')) return { nickname: 'taken over' };
    if (route.url.startsWith('/manage/roles')) return { description: 'taken over' };
    if (route.url.startsWith('/manage/private-apps')) return { description: 'taken over' };
    return { name: 'taken over', externalId: 'taken-over' };
  }

  const strip = (text: string) => {
    try {
      const value = JSON.parse(text) as Record<string, unknown>;
      delete value.requestId;
      return JSON.stringify(value);
    } catch {
      return text;
    }
  };

  it('covers every model and every management resource that takes an id', () => {
    const covered = new Set(routesWithIds().map((route) => route.url.split('/')[1]));
    for (const path of [...Object.keys(a.records), 'users', 'manage']) {
      expect(covered, path).toContain(path);
    }
    const managed = routesWithIds().filter((route) => route.url.startsWith('/manage/'));
    for (const resource of ['private-apps', 'roles', 'members']) {
      expect(managed.some((route) => route.url.startsWith(`/manage/${resource}/`))).toBe(true);
    }
  });

  for (const principal of ['member session', 'app token', 'tenant token'] as const) {
    it(`gives A's ${principal} nothing of B's, exactly as if it did not exist`, async () => {
      await t.app.requestLog.flush();
      const before = await snapshot(t, b.workspaceId);
      const send = (route: DeclaredRoute, url: string) => {
        const payload = body(route);
        const options = {
          method: route.method as 'GET',
          url,
          ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
        };
        if (principal === 'member session') return t.as(a.session, options);
        if (principal === 'app token') {
          return t.app.inject({ ...options, headers: bearer(a.app.token) });
        }
        return t.app.inject({ ...options, headers: { authorization: `Bearer ${a.tenantToken}` } });
      };

      let successes = 0;
      for (const route of routesWithIds()) {
        const onB = await send(route, target(route, b));
        const onNothing = await send(route, target(route, undefined));
        const label = `${principal}: ${route.method} ${route.url} → ${onB.statusCode} ${onB.body.slice(0, 160)}`;
        if (onB.statusCode < 300) successes += 1;
        expect(onB.statusCode, label).toBe(onNothing.statusCode);
        expect(strip(onB.body), label).toBe(strip(onNothing.body));
        expect(onB.body, label).not.toContain('taken over');
      }
      expect(successes).toBe(0);
      await t.app.requestLog.flush();
      expect(await snapshot(t, b.workspaceId)).toBe(before);
    });
  }

  it("lists none of B's objects to A", async () => {
    const lists = t.app.declaredRoutes.filter(
      (route) =>
        route.method === 'GET' &&
        !route.url.includes(':') &&
        (route.auth === 'token' || route.auth === 'session-or-token'),
    );
    const bIds = [
      ...Object.values(b.records),
      b.app.id,
      b.app.tokenId,
      b.memberId,
      b.roleId,
      b.workspaceId,
    ];
    for (const route of lists) {
      for (const response of [
        await t.app.inject({ url: route.url, headers: bearer(a.app.token) }),
        await t.as(a.session, { method: 'GET', url: route.url }),
      ]) {
        for (const id of bIds) expect(response.body, `${route.url} holds ${id}`).not.toContain(id);
      }
    }
  });
});
