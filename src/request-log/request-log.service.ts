import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requirePermission } from '../permissions/authorize.js';
import type { PrivateAppService } from '../private-apps/private-app.service.js';
import { parseDuration } from '../shared/duration.js';
import { invalidField, notFound } from '../shared/errors.js';
import { decodeCursor, encodeCursor, parseTime, type LogFilter } from './request-log.filters.js';
import * as logs from './request-log.repository.js';
import { suggestPermissions, type PermissionSuggestion } from './suggested-permissions.js';

export type { RequestLog } from './request-log.repository.js';

export const MAX_PAGE_SIZE = 200;
const DEFAULT_PAGE_SIZE = 50;
const EXPORT_PAGE_SIZE = 1_000;
const MAX_BUCKETS = 5_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DEFAULT_SUGGESTION_WINDOW_MS = 30 * DAY_MS;
/** Bucket sizes picked when the caller names none: the smallest giving at most 500. */
const AUTO_BUCKETS_MS = [60_000, 300_000, 900_000, HOUR_MS, 6 * HOUR_MS, DAY_MS, 7 * DAY_MS];

export interface LogPage {
  items: logs.RequestLog[];
  nextCursor: string | null;
}

export interface SummaryBucket {
  start: string;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  p50: number | null;
  p95: number | null;
}

export interface Summary {
  from: string;
  to: string;
  bucketSeconds: number;
  buckets: SummaryBucket[];
}

export type ExportFormat = 'csv' | 'ndjson';

export interface TimeWindow {
  from?: string;
  to?: string;
}

/**
 * Reading an app's request log: ServiceAccount view for everything, export as well for
 * exports. Another workspace's app is not found.
 */
export class RequestLogService {
  constructor(
    private readonly database: Database,
    private readonly apps: PrivateAppService,
    private readonly now: () => number = Date.now,
  ) {}

  async list(
    principal: Principal,
    appId: string,
    filter: LogFilter,
    page: { cursor?: string; limit?: number },
  ): Promise<LogPage> {
    const scope = await this.scope(principal, appId);
    const limit = Math.min(page.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await logs.listLogs(this.database.db, scope, filter, {
      ...(before === undefined ? {} : { before }),
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    const nextCursor =
      rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null;
    return { items, nextCursor };
  }

  async get(principal: Principal, appId: string, logId: string): Promise<logs.RequestLog> {
    const scope = await this.scope(principal, appId);
    const seq = /^\d{1,15}$/.test(logId) ? Number(logId) : undefined;
    const log = seq === undefined ? undefined : await logs.findLog(this.database.db, scope, seq);
    if (log === undefined) throw notFound('log entry');
    return log;
  }

  /** Counts per status class and duration percentiles, per bucket, over a range. */
  async summary(
    principal: Principal,
    appId: string,
    query: TimeWindow & { bucket?: string },
  ): Promise<Summary> {
    const scope = await this.scope(principal, appId);
    const { from, to } = this.window(query, DAY_MS);
    const bucketMs = query.bucket === undefined ? autoBucket(to - from) : parseBucket(query.bucket);
    const start = Math.floor(from / bucketMs) * bucketMs;
    const count = Math.max(1, Math.ceil((to - start) / bucketMs));
    if (count > MAX_BUCKETS) {
      throw invalidField('bucket', `gives ${count} buckets; at most ${MAX_BUCKETS} are allowed`);
    }

    const stats = await logs.summarize(this.database, scope, { from, to, start, bucketMs });
    const byIndex = new Map(stats.map((bucket) => [bucket.index, bucket]));
    const buckets: SummaryBucket[] = [];
    for (let index = 0; index < count; index += 1) {
      const found = byIndex.get(index);
      buckets.push({
        start: new Date(start + index * bucketMs).toISOString(),
        s2xx: found?.s2xx ?? 0,
        s4xx: found?.s4xx ?? 0,
        s5xx: found?.s5xx ?? 0,
        p50: found?.p50 ?? null,
        p95: found?.p95 ?? null,
      });
    }
    return {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bucketSeconds: bucketMs / 1000,
      buckets,
    };
  }

  /**
   * The filtered rows, newest first, as CSV or NDJSON lines. Permissions and the app are
   * checked before the first line, so a refusal is still an ordinary error response.
   */
  async export(
    principal: Principal,
    appId: string,
    filter: LogFilter,
    format: ExportFormat,
  ): Promise<AsyncIterable<string>> {
    requirePermission(principal, 'ServiceAccount', 'view');
    requirePermission(principal, 'ServiceAccount', 'export');
    const scope = await this.scope(principal, appId);
    return exportLines(this.database, scope, filter, format);
  }

  async suggestedPermissions(
    principal: Principal,
    appId: string,
    query: TimeWindow,
  ): Promise<PermissionSuggestion & { from: string; to: string }> {
    const app = await this.apps.get(principal, appId);
    const scope = { workspaceId: principal.workspaceId, appId };
    const range = this.window(query, DEFAULT_SUGGESTION_WINDOW_MS);
    const [usage, refused] = await Promise.all([
      logs.usedPermissions(this.database.db, scope, range),
      logs.refusedPermissions(this.database.db, scope, range),
    ]);
    return {
      ...suggestPermissions(app.permissions, usage, refused),
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
    };
  }

  /** Replaces the app's permissions with the suggestion: audited, never an escalation. */
  async applySuggestedPermissions(principal: Principal, appId: string, query: TimeWindow) {
    requirePermission(principal, 'ServiceAccount', 'update');
    const suggestion = await this.suggestedPermissions(principal, appId, query);
    const app = await this.apps.update(principal, appId, { permissions: suggestion.suggested });
    return { app, suggestion };
  }

  private async scope(principal: Principal, appId: string): Promise<logs.AppScope> {
    await this.apps.get(principal, appId);
    return { workspaceId: principal.workspaceId, appId };
  }

  private window(query: TimeWindow, defaultSpanMs: number): { from: number; to: number } {
    const to = query.to === undefined ? this.now() : parseTime(query.to, 'to');
    const from = query.from === undefined ? to - defaultSpanMs : parseTime(query.from, 'from');
    if (from > to) throw invalidField('from', 'must not be after to');
    return { from, to };
  }
}

/** `1m`, `5m`, `1h`, `1d` (any count of s, m, h, d, w) or a number of seconds. */
export function parseBucket(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined || ms < 1000 || ms > 30 * DAY_MS) {
    throw invalidField('bucket', 'must be a duration such as 1m, 5m, 1h or 1d, or seconds');
  }
  return ms;
}

function autoBucket(spanMs: number): number {
  return AUTO_BUCKETS_MS.find((size) => spanMs / size <= 500) ?? 30 * DAY_MS;
}

const CSV_COLUMNS = [
  'id',
  'at',
  'method',
  'route',
  'path',
  'status',
  'durationMs',
  'tokenId',
  'tokenHint',
  'ip',
  'userAgent',
  'model',
  'operation',
  'actions',
  'created',
  'updated',
  'errors',
  'ignoredFields',
  'errorCode',
  'errorMessage',
  'missingPermission',
  'requestId',
] as const;

async function* exportLines(
  database: Database,
  scope: logs.AppScope,
  filter: LogFilter,
  format: ExportFormat,
): AsyncGenerator<string> {
  if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
  let before: logs.LogPosition | undefined;
  for (;;) {
    const rows = await logs.listLogs(database.db, scope, filter, {
      ...(before === undefined ? {} : { before }),
      limit: EXPORT_PAGE_SIZE,
    });
    if (rows.length === 0) return;
    const lines = rows.map((row) =>
      format === 'csv' ? `${csvRow(row)}\r\n` : `${JSON.stringify(logs.publicLog(row))}\n`,
    );
    yield lines.join('');
    if (rows.length < EXPORT_PAGE_SIZE) return;
    const last = rows[rows.length - 1];
    before = last === undefined ? undefined : positionOf(last);
  }
}

function positionOf(log: logs.RequestLog): logs.LogPosition {
  return { at: Date.parse(log.at), seq: log.seq };
}

function csvRow(log: logs.RequestLog): string {
  const values: Record<(typeof CSV_COLUMNS)[number], string | number | null> = {
    id: log.id,
    at: log.at,
    method: log.method,
    route: log.route,
    path: log.path,
    status: log.status,
    durationMs: log.durationMs,
    tokenId: log.tokenId,
    tokenHint: log.tokenHint,
    ip: log.ip,
    userAgent: log.userAgent,
    model: log.model,
    operation: log.operation,
    actions: log.actions.join(' '),
    created: log.counts?.created ?? null,
    updated: log.counts?.updated ?? null,
    errors: log.counts?.errors ?? null,
    ignoredFields: log.ignoredFields.join(' '),
    errorCode: log.errorCode,
    errorMessage: log.errorMessage,
    missingPermission: log.missingPermission,
    requestId: log.requestId,
  };
  return CSV_COLUMNS.map((column) => csvField(values[column])).join(',');
}

/**
 * Quotes what needs quoting, and defuses cells a spreadsheet would run as a formula:
 * paths and user agents are whatever the client sent.
 */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
