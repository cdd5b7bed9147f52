import { sql, type Selectable, type SelectQueryBuilder } from 'kysely';
import type { Database, Executor } from '../db/database.js';
import type { RequestLogTable, Schema } from '../db/schema.js';
import type { LogFilter } from './request-log.filters.js';

/** One logged request, as the Logs tab, the export and the CLI show it. */
export interface RequestLog {
  id: string;
  seq: number;
  at: string;
  method: string;
  route: string;
  path: string;
  status: number;
  durationMs: number;
  tokenId: string;
  tokenHint: string;
  ip: string;
  userAgent: string;
  model: string | null;
  operation: string;
  actions: string[];
  counts: { created: number; updated: number; errors: number } | null;
  ignoredFields: string[];
  errorCode: string | null;
  errorMessage: string | null;
  missingPermission: string | null;
  requestId: string;
}

export interface AppScope {
  workspaceId: string;
  appId: string;
}

/** Where a page starts: just after the last row of the previous one. */
export interface LogPosition {
  at: number;
  seq: number;
}

export interface PageRequest {
  /** Only rows before this position, newest first by time, then sequence. */
  before?: LogPosition;
  /** Only rows written after this sequence number, in the order written: for following. */
  afterSeq?: number;
  limit: number;
}

type LogQuery = SelectQueryBuilder<Schema, 'request_logs', object>;

function scoped(executor: Executor, scope: AppScope): LogQuery {
  return executor
    .selectFrom('request_logs')
    .where('workspace_id', '=', scope.workspaceId)
    .where('app_id', '=', scope.appId);
}

function filtered(query: LogQuery, filter: LogFilter): LogQuery {
  let q = query;
  if (filter.from !== undefined) q = q.where('at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('at', '<', filter.to);
  if (filter.method !== undefined) q = q.where('method', '=', filter.method);
  if (filter.status !== undefined) {
    q =
      filter.status.min === filter.status.max
        ? q.where('status', '=', filter.status.min)
        : q.where('status', '>=', filter.status.min).where('status', '<=', filter.status.max);
  }
  if (filter.tokenId !== undefined) q = q.where('token_id', '=', filter.tokenId);
  if (filter.errorCode !== undefined) q = q.where('error_code', '=', filter.errorCode);
  if (filter.path !== undefined) {
    const pattern = `%${filter.path.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where(sql<boolean>`lower(path) like ${pattern} escape '\\'`);
  }
  return q;
}

/**
 * A page of an app's rows: newest first by request time, ties broken by sequence so that
 * the order is total and a cursor never skips or repeats a row; or, after `afterSeq`, the
 * rows written since, oldest first.
 */
export async function listLogs(
  executor: Executor,
  scope: AppScope,
  filter: LogFilter,
  page: PageRequest,
): Promise<RequestLog[]> {
  let query = filtered(scoped(executor, scope), filter);
  if (page.afterSeq !== undefined) {
    query = query.where('seq', '>', page.afterSeq).orderBy('seq', 'asc');
  } else {
    const before = page.before;
    if (before !== undefined) {
      query = query.where((eb) =>
        eb(eb.refTuple('at', 'seq'), '<', eb.tuple(before.at, before.seq)),
      );
    }
    query = query.orderBy('at', 'desc').orderBy('seq', 'desc');
  }
  const rows = await query.selectAll().limit(page.limit).execute();
  return rows.map(toLog);
}

export async function findLog(
  executor: Executor,
  scope: AppScope,
  seq: number,
): Promise<RequestLog | undefined> {
  const row = await scoped(executor, scope).selectAll().where('seq', '=', seq).executeTakeFirst();
  return row === undefined ? undefined : toLog(row);
}

export interface BucketStats {
  /** Index of the bucket from the range's aligned start. */
  index: number;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  p50: number | null;
  p95: number | null;
}

/**
 * Counts by status class and duration percentiles (nearest rank) per time bucket. SQLite
 * has no percentile function, so its rows are read from the covering index and grouped
 * here; PostgreSQL aggregates in SQL.
 */
export async function summarize(
  database: Database,
  scope: AppScope,
  range: { from: number; to: number; start: number; bucketMs: number },
): Promise<BucketStats[]> {
  if (database.sqlite !== undefined) {
    const rows = database.sqlite
      .prepare<[string, string, number, number], [number, number, number]>(
        `select at, status, duration_ms from request_logs
         where workspace_id = ? and app_id = ? and at >= ? and at < ?`,
      )
      .raw(true)
      .all(scope.workspaceId, scope.appId, range.from, range.to);
    return bucketize(rows, range.start, range.bucketMs);
  }

  const result = await sql<{
    index: number;
    s2xx: number;
    s4xx: number;
    s5xx: number;
    p50: number | null;
    p95: number | null;
  }>`
    select (at - ${range.start}) / ${range.bucketMs} as index,
           count(*) filter (where status < 400) as s2xx,
           count(*) filter (where status >= 400 and status < 500) as s4xx,
           count(*) filter (where status >= 500) as s5xx,
           percentile_disc(0.5) within group (order by duration_ms) as p50,
           percentile_disc(0.95) within group (order by duration_ms) as p95
    from request_logs
    where workspace_id = ${scope.workspaceId} and app_id = ${scope.appId}
      and at >= ${range.from} and at < ${range.to}
    group by 1
    order by 1`.execute(database.db);
  return result.rows.map((row) => ({ ...row, index: Number(row.index) }));
}

function bucketize(
  rows: readonly [number, number, number][],
  start: number,
  bucketMs: number,
): BucketStats[] {
  const buckets = new Map<number, { stats: BucketStats; durations: number[] }>();
  for (const [at, status, duration] of rows) {
    const index = Math.floor((at - start) / bucketMs);
    let bucket = buckets.get(index);
    if (bucket === undefined) {
      bucket = { stats: { index, s2xx: 0, s4xx: 0, s5xx: 0, p50: null, p95: null }, durations: [] };
      buckets.set(index, bucket);
    }
    if (status < 400) bucket.stats.s2xx += 1;
    else if (status < 500) bucket.stats.s4xx += 1;
    else bucket.stats.s5xx += 1;
    bucket.durations.push(duration);
  }
  const result: BucketStats[] = [];
  for (const { stats, durations } of buckets.values()) {
    const sorted = Float64Array.from(durations).sort();
    stats.p50 = nearestRank(sorted, 0.5);
    stats.p95 = nearestRank(sorted, 0.95);
    result.push(stats);
  }
  return result.sort((a, b) => a.index - b.index);
}

function nearestRank(sorted: Float64Array, quantile: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(quantile * sorted.length) - 1)] ?? null;
}

export interface PermissionUsage {
  model: string;
  action: string;
  count: number;
}

export interface RefusedPermission {
  permission: string;
  count: number;
  lastAt: string;
}

/** The models and actions of an app's successful requests in a time range. */
export async function usedPermissions(
  executor: Executor,
  scope: AppScope,
  range: { from: number; to: number },
): Promise<PermissionUsage[]> {
  const rows = await scoped(executor, scope)
    .where('at', '>=', range.from)
    .where('at', '<', range.to)
    .where('status', '<', 400)
    .where('model', 'is not', null)
    .where('action', 'is not', null)
    .select((eb) => ['model', 'action', eb.fn.countAll<number>().as('count')])
    .groupBy(['model', 'action'])
    .execute();
  return rows.map((row) => ({
    model: row.model ?? '',
    action: row.action ?? '',
    count: Number(row.count),
  }));
}

/** The permissions an app's requests were refused for lacking, in a time range. */
export async function refusedPermissions(
  executor: Executor,
  scope: AppScope,
  range: { from: number; to: number },
): Promise<RefusedPermission[]> {
  const rows = await scoped(executor, scope)
    .where('at', '>=', range.from)
    .where('at', '<', range.to)
    .where('status', '=', 403)
    .where('missing_permission', 'is not', null)
    .select((eb) => [
      'missing_permission',
      eb.fn.countAll<number>().as('count'),
      eb.fn.max('at').as('last_at'),
    ])
    .groupBy('missing_permission')
    .orderBy('missing_permission')
    .execute();
  return rows.map((row) => ({
    permission: row.missing_permission ?? '',
    count: Number(row.count),
    lastAt: new Date(Number(row.last_at)).toISOString(),
  }));
}

/**
 * The sequence number of the first row, in the order written, made at or after `at`.
 * Rows are written within seconds of their request, so rows before it are older than
 * `at`, give or take that delay. Retention uses this instead of an index on time.
 */
export async function firstSeqSince(executor: Executor, at: number): Promise<number | undefined> {
  const row = await executor
    .selectFrom('request_logs')
    .select('seq')
    .where('at', '>=', at)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  return row === undefined ? undefined : Number(row.seq);
}

/**
 * Deletes up to `batch` rows made before `cutoff` among those written before `beforeSeq`,
 * oldest first; returns how many. This maintenance query spans workspaces: retention is
 * one age for all of them.
 */
export async function deleteExpired(
  executor: Executor,
  cutoff: number,
  beforeSeq: number | undefined,
  batch: number,
): Promise<number> {
  const result = await executor
    .deleteFrom('request_logs')
    .where('seq', 'in', (eb) => {
      let oldest = eb
        .selectFrom('request_logs')
        .select('seq')
        .where('at', '<', cutoff)
        .orderBy('seq')
        .limit(batch);
      if (beforeSeq !== undefined) oldest = oldest.where('seq', '<', beforeSeq);
      return oldest;
    })
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The row as clients see it: its id, without the sequence number behind it. */
export function publicLog(log: RequestLog): Omit<RequestLog, 'seq'> {
  const { seq: _seq, ...rest } = log;
  return rest;
}

/** The workspace of a private app, for callers that start from an app id alone. */
export async function findAppWorkspace(
  executor: Executor,
  appId: string,
): Promise<string | undefined> {
  const row = await executor
    .selectFrom('private_apps')
    .select('workspace_id')
    .where('id', '=', appId)
    .executeTakeFirst();
  return row?.workspace_id;
}

function toLog(row: Selectable<RequestLogTable>): RequestLog {
  const hasCounts =
    row.created_count !== null || row.updated_count !== null || row.error_count !== null;
  return {
    id: String(row.seq),
    seq: Number(row.seq),
    at: new Date(Number(row.at)).toISOString(),
    method: row.method,
    route: row.route,
    path: row.path,
    status: row.status,
    durationMs: row.duration_ms,
    tokenId: row.token_id,
    tokenHint: row.token_hint,
    ip: row.ip,
    userAgent: row.user_agent,
    model: row.model,
    operation: row.operation,
    actions: row.action === null || row.action === '' ? [] : row.action.split(','),
    counts: hasCounts
      ? {
          created: row.created_count ?? 0,
          updated: row.updated_count ?? 0,
          errors: row.error_count ?? 0,
        }
      : null,
    ignoredFields: row.ignored_fields === null ? [] : (JSON.parse(row.ignored_fields) as string[]),
    errorCode: row.error_code,
    errorMessage: row.error_message,
    missingPermission: row.missing_permission,
    requestId: row.request_id,
  };
}
