import type { RequestLog } from '../../src/request-log/request-log.repository.js';
import { createRequestLogStore } from '../../src/request-log/request-log.store.js';
import type { RequestLogEntry } from '../../src/request-log/request-log.writer.js';
import {
  createTestApp,
  type Session,
  type TestApp,
  type TestAppOptions,
} from '../helpers/test-app.js';

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
 * A test app with request-log settings and extra routes added before it is ready (routes
 * standing in for main-API routes that set log extras).
 */
export function createLogTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  return createTestApp({}, options);
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
