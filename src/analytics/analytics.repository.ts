import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../db/database.js';
import type { Schema } from '../db/schema.js';

/** One user activity as stored; times are epoch milliseconds. */
export interface ActivityRow {
  time: number;
  action: string;
  weight: number;
  count: number;
  email: string | null;
  externalId: string | null;
  companyExternalId: string | null;
  name: string | null;
  endUserId: string | null;
  companyId: string | null;
  /** JSON text. */
  info: string | null;
}

/** One custom-metric value as stored. */
export interface MetricRow {
  dimensionId: string;
  value: number;
  model: string;
  externalId: string | null;
  objectId: string | null;
  companyId: string | null;
  time: number;
  day: number;
}

export interface StoredActivity extends ActivityRow {
  seq: number;
  receivedAt: number;
}

export interface StoredMetric extends MetricRow {
  seq: number;
  receivedAt: number;
}

/**
 * The ingestion hot path. Each call writes its rows in one transaction and resolves only
 * once they are committed; callers keep calls to a few thousand rows.
 */
export interface AnalyticsWriter {
  insertActivities(workspaceId: string, receivedAt: number, rows: ActivityRow[]): Promise<void>;
  insertMetrics(workspaceId: string, receivedAt: number, rows: MetricRow[]): Promise<void>;
}

const ACTIVITY_COLUMNS = [
  'workspace_id',
  'received_at',
  'time',
  'action',
  'weight',
  'count',
  'email',
  'external_id',
  'company_external_id',
  'name',
  'enduser_id',
  'company_id',
  'info',
] as const;

const METRIC_COLUMNS = [
  'workspace_id',
  'received_at',
  'dimension_id',
  'value',
  'model',
  'external_id',
  'object_id',
  'company_id',
  'time',
  'day',
] as const;

export function createAnalyticsWriter(database: Database): AnalyticsWriter {
  if (database.sqlite !== undefined) return new SqliteAnalyticsWriter(database.db, database.sqlite);
  if (database.pool !== undefined) return new PostgresAnalyticsWriter(database.pool);
  throw new Error('database has neither SQLite nor a pool');
}

function insertSql(table: string, columns: readonly string[]): string {
  const marks = columns.map(() => '?').join(', ');
  return `insert into ${table} (${columns.join(', ')}) values (${marks})`;
}

/**
 * One prepared statement per table, run once per row inside a better-sqlite3
 * transaction: the fastest way into SQLite, and the transaction is one WAL commit.
 */
class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly writeActivities: (workspaceId: string, at: number, rows: ActivityRow[]) => void;
  private readonly writeMetrics: (workspaceId: string, at: number, rows: MetricRow[]) => void;

  constructor(
    private readonly db: Kysely<Schema>,
    sqlite: BetterSqlite3.Database,
  ) {
    const activity = sqlite.prepare(insertSql('user_activities', ACTIVITY_COLUMNS));
    this.writeActivities = sqlite.transaction((workspaceId, at, rows) => {
      for (const row of rows) {
        activity.run(
          workspaceId,
          at,
          row.time,
          row.action,
          row.weight,
          row.count,
          row.email,
          row.externalId,
          row.companyExternalId,
          row.name,
          row.endUserId,
          row.companyId,
          row.info,
        );
      }
    });

    const metric = sqlite.prepare(insertSql('dimension_data', METRIC_COLUMNS));
    this.writeMetrics = sqlite.transaction((workspaceId, at, rows) => {
      for (const row of rows) {
        metric.run(
          workspaceId,
          at,
          row.dimensionId,
          row.value,
          row.model,
          row.externalId,
          row.objectId,
          row.companyId,
          row.time,
          row.day,
        );
      }
    });
  }

  insertActivities(workspaceId: string, receivedAt: number, rows: ActivityRow[]): Promise<void> {
    return this.exclusive(() => this.writeActivities(workspaceId, receivedAt, rows));
  }

  insertMetrics(workspaceId: string, receivedAt: number, rows: MetricRow[]): Promise<void> {
    return this.exclusive(() => this.writeMetrics(workspaceId, receivedAt, rows));
  }

  // Kysely shares this connection and its transactions await between statements; holding
  // its connection keeps such a transaction from being open while ours runs.
  private async exclusive(work: () => void): Promise<void> {
    await this.db.connection().execute(async () => work());
  }
}

// One statement per batch: every column travels as one array parameter and unnest turns
// the arrays back into rows, so a batch costs one round trip whatever its size.
const PG_ACTIVITY_SQL = `
  insert into user_activities (${ACTIVITY_COLUMNS.join(', ')})
  select $1, $2, * from unnest(
    $3::bigint[], $4::text[], $5::float8[], $6::float8[], $7::text[], $8::text[], $9::text[],
    $10::text[], $11::text[], $12::text[], $13::text[])`;

const PG_METRIC_SQL = `
  insert into dimension_data (${METRIC_COLUMNS.join(', ')})
  select $1, $2, * from unnest(
    $3::text[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bigint[],
    $10::int[])`;

class PostgresAnalyticsWriter implements AnalyticsWriter {
  constructor(private readonly pool: pg.Pool) {}

  async insertActivities(workspaceId: string, receivedAt: number, rows: ActivityRow[]) {
    if (rows.length === 0) return;
    await this.pool.query({
      name: 'analytics-insert-activities',
      text: PG_ACTIVITY_SQL,
      values: [
        workspaceId,
        receivedAt,
        rows.map((row) => row.time),
        rows.map((row) => row.action),
        rows.map((row) => row.weight),
        rows.map((row) => row.count),
        rows.map((row) => row.email),
        rows.map((row) => row.externalId),
        rows.map((row) => row.companyExternalId),
        rows.map((row) => row.name),
        rows.map((row) => row.endUserId),
        rows.map((row) => row.companyId),
        rows.map((row) => row.info),
      ],
    });
  }

  async insertMetrics(workspaceId: string, receivedAt: number, rows: MetricRow[]) {
    if (rows.length === 0) return;
    await this.pool.query({
      name: 'analytics-insert-metrics',
      text: PG_METRIC_SQL,
      values: [
        workspaceId,
        receivedAt,
        rows.map((row) => row.dimensionId),
        rows.map((row) => row.value),
        rows.map((row) => row.model),
        rows.map((row) => row.externalId),
        rows.map((row) => row.objectId),
        rows.map((row) => row.companyId),
        rows.map((row) => row.time),
        rows.map((row) => row.day),
      ],
    });
  }
}

/** Conditions of `GET /useractivities`; every one is optional but the workspace. */
export interface ActivityQuery {
  companyId?: string;
  companyExternalId?: string;
  endUserId?: string;
  externalId?: string;
  email?: string;
  action?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

/** Newest first, ties in reverse arrival order. */
export async function listActivities(
  db: Kysely<Schema>,
  workspaceId: string,
  query: ActivityQuery,
): Promise<StoredActivity[]> {
  let select = db.selectFrom('user_activities').selectAll().where('workspace_id', '=', workspaceId);
  if (query.companyId !== undefined) select = select.where('company_id', '=', query.companyId);
  if (query.companyExternalId !== undefined) {
    select = select.where('company_external_id', '=', query.companyExternalId);
  }
  if (query.endUserId !== undefined) select = select.where('enduser_id', '=', query.endUserId);
  if (query.externalId !== undefined) select = select.where('external_id', '=', query.externalId);
  if (query.email !== undefined) select = select.where('email', '=', query.email);
  if (query.action !== undefined) select = select.where('action', '=', query.action);
  if (query.from !== undefined) select = select.where('time', '>=', query.from);
  if (query.to !== undefined) select = select.where('time', '<=', query.to);

  const rows = await select
    .orderBy('time', 'desc')
    .orderBy('seq', 'desc')
    .limit(query.limit)
    .offset(query.offset)
    .execute();

  return rows.map((row) => ({
    seq: Number(row.seq),
    receivedAt: Number(row.received_at),
    time: Number(row.time),
    action: row.action,
    weight: row.weight,
    count: row.count,
    email: row.email,
    externalId: row.external_id,
    companyExternalId: row.company_external_id,
    name: row.name,
    endUserId: row.enduser_id,
    companyId: row.company_id,
    info: row.info,
  }));
}

/** Conditions of `GET /dimensiondata`. */
export interface MetricQuery {
  companyId?: string;
  /** A company's externalId, for values whose company is not known by its _id. */
  companyExternalId?: string;
  dimensionId?: string;
  /** Day numbers, inclusive. */
  fromDay?: number;
  toDay?: number;
  limit: number;
  offset: number;
}

/** Oldest first, as a time series reads. */
export async function listMetrics(
  db: Kysely<Schema>,
  workspaceId: string,
  query: MetricQuery,
): Promise<StoredMetric[]> {
  let select = db.selectFrom('dimension_data').selectAll().where('workspace_id', '=', workspaceId);
  if (query.companyId !== undefined) select = select.where('company_id', '=', query.companyId);
  if (query.companyExternalId !== undefined) {
    const externalId = query.companyExternalId;
    select = select.where((eb) =>
      eb.and([eb('model', '=', 'Company'), eb('external_id', '=', externalId)]),
    );
  }
  if (query.dimensionId !== undefined) {
    select = select.where('dimension_id', '=', query.dimensionId);
  }
  if (query.fromDay !== undefined) select = select.where('day', '>=', query.fromDay);
  if (query.toDay !== undefined) select = select.where('day', '<=', query.toDay);

  const rows = await select
    .orderBy('time', 'asc')
    .orderBy('seq', 'asc')
    .limit(query.limit)
    .offset(query.offset)
    .execute();

  return rows.map((row) => ({
    seq: Number(row.seq),
    receivedAt: Number(row.received_at),
    dimensionId: row.dimension_id,
    value: row.value,
    model: row.model,
    externalId: row.external_id,
    objectId: row.object_id,
    companyId: row.company_id,
    time: Number(row.time),
    day: row.day,
  }));
}
