import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import type { RequestLogSettings } from '../../src/request-log/request-log.plugin.js';
import type { RequestLog } from '../../src/request-log/request-log.repository.js';
import { createRequestLogStore } from '../../src/request-log/request-log.store.js';
import type { RequestLogEntry } from '../../src/request-log/request-log.writer.js';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
import {
  ADMIN_PASSWORD,
  TEST_PASSWORD_COST,
  type Session,
  type TestApp,
} from '../helpers/test-app.js';
import { createTestDatabase } from '../helpers/test-database.js';

export const NONE = { create: false, view: false, update: false, remove: false, export: false };
export const VIEW = { ...NONE, view: true };
export const ALL = { create: true, view: true, update: true, remove: true, export: true };

/** Writes whatever the app buffered, then reads the app's log through the API. */
export async function readLogs(
  t: TestApp,
  session: Session,
  appId: string,
  query: Record<string, string | number> = {},
): Promise<{ items: RequestLog[]; nextCursor: string | null }> {
  await t.app.requestLog.flush();
  const response = await t.as(session, {
    method: 'GET',
    url: `/manage/private-apps/${appId}/logs`,
    query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])),
  });
  if (response.statusCode !== 200) throw new Error(`read logs: ${response.body}`);
  return response.json();
}

/** Every stored row of every app, straight from the table. */
export async function storedRows(t: TestApp): Promise<Record<string, unknown>[]> {
  await t.app.requestLog.flush();
  return t.testDb.database.db.selectFrom('request_logs').selectAll().orderBy('seq').execute();
}

/**
 * A test app like createTestApp's, with request-log settings and extra routes added
 * before it is ready (routes standing in for main-API routes that set log extras).
 */
export async function createLogTestApp(
  options: {
    requestLog?: RequestLogSettings;
    routes?: (app: FastifyInstance) => void;
    appRateLimit?: { defaultPerSecond: number; maxInFlight: number };
  } = {},
): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config = parseConfig({ LOG_LEVEL: 'info' });
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const app = await buildApp({
    config,
    database: testDb.database,
    logStream,
    passwordCost: TEST_PASSWORD_COST,
    loginLimits: { perIpPerMinute: 1000, perAccountPerMinute: 1000 },
    ...(options.requestLog === undefined ? {} : { requestLog: options.requestLog }),
    ...(options.appRateLimit === undefined ? {} : { appRateLimit: options.appRateLimit }),
  });
  options.routes?.(app);
  await app.ready();

  const seedWorkspace = (name: string, email: string) =>
    initWorkspace(testDb.database.db, {
      workspaceName: name,
      adminEmail: email,
      adminPassword: ADMIN_PASSWORD,
      passwordCost: TEST_PASSWORD_COST,
    });
  const seed = await seedWorkspace('Acme', 'admin@acme.test');

  async function login(email = seed.admin.email, password = ADMIN_PASSWORD): Promise<Session> {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    const cookie = response.cookies.find((c) => c.name === app.sessionCookieName);
    if (cookie === undefined) throw new Error(`login failed: ${response.body}`);
    return {
      cookie: `${cookie.name}=${cookie.value}`,
      csrfToken: response.json<{ csrfToken: string }>().csrfToken,
    };
  }

  return {
    app,
    testDb,
    config,
    logs,
    seed,
    seedWorkspace,
    login,
    as(session, inject) {
      return app.inject({
        ...inject,
        headers: { ...inject.headers, cookie: session.cookie, 'x-csrf-token': session.csrfToken },
      });
    },
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}

/** A row as the writer would buffer it, for seeding history at chosen times. */
export function logEntry(
  scope: { workspaceId: string; appId: string; tokenId: string },
  overrides: Partial<RequestLogEntry> = {},
): RequestLogEntry {
  return {
    workspaceId: scope.workspaceId,
    appId: scope.appId,
    tokenId: scope.tokenId,
    tokenHint: 'apc_…abcd',
    at: Date.now(),
    requestId: crypto.randomUUID(),
    method: 'GET',
    route: '/companies',
    path: '/companies',
    status: 200,
    durationMs: 5,
    ip: '127.0.0.1',
    userAgent: 'test',
    model: 'Company',
    operation: 'record.company.list',
    action: 'view',
    created: null,
    updated: null,
    errors: null,
    ignoredFields: null,
    errorCode: null,
    errorMessage: null,
    missingPermission: null,
    accepted: true,
    ...overrides,
  };
}

/** Writes rows straight to the table, in order, as flushed batches would. */
export async function seedRows(t: TestApp, entries: RequestLogEntry[]): Promise<void> {
  const store = createRequestLogStore(t.testDb.database);
  for (let start = 0; start < entries.length; start += 500) {
    await store.write(entries.slice(start, start + 500), []);
  }
}
