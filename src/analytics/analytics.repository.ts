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

/** A record whose `lastActive` moves up to `lastActive` (epoch ms), if it is later. */
export interface Touch {
  model: 'EndUser' | 'Company';
  id: string;
  lastActive: number;
}

/**
 * The ingestion hot path. Each call writes its rows, and the lastActive of the records
 * they touch, in one transaction and resolves only once it is committed; callers keep
 * calls to a few thousand rows.
 */
export interface AnalyticsWriter {
  insertActivities(
    workspaceId: string,
    receivedAt: number,
    rows: ActivityRow[],
    touches?: Touch[],
  ): Promise<void>;
  insertMetrics(workspaceId: string, receivedAt: number, rows: MetricRow[]): Promise<void>;
}

/** The record's document with a later lastActive, or undefined when it has one already. */
function withLastActive(doc: string, lastActive: number): string | undefined {
  const parsed = JSON.parse(doc) as Record<string, unknown>;
  const current = typeof parsed.lastActive === 'string' ? Date.parse(parsed.lastActive) : NaN;
  if (current >= lastActive) return undefined;
  parsed.lastActive = new Date(lastActive).toISOString();
  return JSON.stringify(parsed);
}

// lastActive is usage, not an edit: the document changes, and its version with it, but
// not updatedAt, and no audit event is written. On SQLite the document is edited in
// place, in key order, and only when the new time is later (times are ISO 8601 in UTC,
// which compare as text); PostgreSQL's jsonb would reorder the keys, so there the
// edit is made in JavaScript.
const SQLITE_TOUCH_SQL = `update records set doc = json_set(doc, '$.lastActive', @at),
  version = version + 1
  where workspace_id = @workspaceId and model = @model and id = @id
  and coalesce(doc ->> '$.lastActive', '') < @at`;

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

function insertSql(table: string, columns: readonly string[], rows: number): string {
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  return `insert into ${table} (${columns.join(', ')}) values ${Array(rows).fill(tuple).join(', ')}`;
}

// Rows per statement on SQLite: binding 25 rows at once is about 1.5 times faster than
// one row per statement, and 25 x 13 parameters stay far below SQLite's limit.
const ROWS_PER_STATEMENT = 25;

/** Puts a row's values into `values` from index `at`, in the order of its columns. */
type Fill<Row> = (values: unknown[], at: number, row: Row) => void;

type Insert<Row> = (workspaceId: string, receivedAt: number, rows: readonly Row[]) => void;

/**
 * Writes rows with reused prepared statements inside one better-sqlite3 transaction,
 * which is one WAL commit: full statements of ROWS_PER_STATEMENT rows, then the rest one
 * by one. The first two columns are the workspace and the time of receipt.
 */
function sqliteInserter<Row>(
  sqlite: BetterSqlite3.Database,
  table: string,
  columns: readonly string[],
  fill: Fill<Row>,
): Insert<Row> {
  const width = columns.length;
  const many = sqlite.prepare(insertSql(table, columns, ROWS_PER_STATEMENT));
  const one = sqlite.prepare(insertSql(table, columns, 1));
  const values: unknown[] = new Array(width * ROWS_PER_STATEMENT);
  const single: unknown[] = new Array(width);
  const put = (
    target: unknown[],
    at: number,
    workspaceId: string,
    receivedAt: number,
    row: Row,
  ) => {
    target[at] = workspaceId;
    target[at + 1] = receivedAt;
    fill(target, at + 2, row);
  };

  return sqlite.transaction((workspaceId: string, receivedAt: number, rows: readonly Row[]) => {
    const full = rows.length - (rows.length % ROWS_PER_STATEMENT);
    for (let start = 0; start < full; start += ROWS_PER_STATEMENT) {
      for (let i = 0; i < ROWS_PER_STATEMENT; i += 1) {
        put(values, i * width, workspaceId, receivedAt, rows[start + i] as Row);
      }
      many.run(values);
    }
    for (let index = full; index < rows.length; index += 1) {
      put(single, 0, workspaceId, receivedAt, rows[index] as Row);
      one.run(single);
    }
  });
}

interface PendingWrite {
  rows: number;
  work: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

// The most rows one group commit carries, so that it blocks the event loop no longer
// than one bulk batch does.
const MAX_GROUP_ROWS = 5_000;

/**
 * Writes that arrive in the same turn of the event loop share one SQLite transaction,
 * so that many single-activity posts cost one WAL commit instead of one each. Every
 * write is its own savepoint (each is a better-sqlite3 transaction function, which
 * nests as one), so a failing write is rolled back alone; all are answered only after
 * the commit.
 */
class GroupCommit {
  private pending: PendingWrite[] = [];
  private scheduled = false;
  private readonly commit: (writes: PendingWrite[]) => unknown[];

  constructor(
    private readonly db: Kysely<Schema>,
    sqlite: BetterSqlite3.Database,
  ) {
    this.commit = sqlite.transaction((writes: PendingWrite[]) =>
      writes.map((write) => {
        try {
          write.work();
          return undefined;
        } catch (error) {
          // Some failures end the whole transaction, taking the group's other writes
          // with it: then the group fails as one.
          if (!sqlite.inTransaction) throw error;
          return error ?? new Error('the write failed');
        }
      }),
    );
  }

  run(rows: number, work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, work, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const group = this.take();
    if (this.pending.length > 0) this.schedule();

    let failures: unknown[];
    try {
      // Kysely shares this connection and its transactions await between statements;
      // holding its connection keeps such a transaction from being open while ours runs.
      failures = await this.db.connection().execute(async () => this.commit(group));
    } catch (error) {
      for (const write of group) write.reject(error);
      return;
    }
    group.forEach((write, index) => {
      const failure = failures[index];
      if (failure === undefined) write.resolve();
      else write.reject(failure);
    });
  }

  /** Whole writes from the front of the queue, up to MAX_GROUP_ROWS, at least one. */
  private take(): PendingWrite[] {
    let rows = 0;
    let count = 0;
    for (const write of this.pending) {
      if (count > 0 && rows + write.rows > MAX_GROUP_ROWS) break;
      rows += write.rows;
      count += 1;
    }
    return this.pending.splice(0, count);
  }
}

class SqliteAnalyticsWriter implements AnalyticsWriter {
  private readonly group: GroupCommit;
  private readonly writeActivities: (
    workspaceId: string,
    receivedAt: number,
    rows: ActivityRow[],
    touches: Touch[],
  ) => void;
  private readonly writeMetrics: Insert<MetricRow>;

  constructor(db: Kysely<Schema>, sqlite: BetterSqlite3.Database) {
    this.group = new GroupCommit(db, sqlite);
    const insertActivities = sqliteInserter<ActivityRow>(
      sqlite,
      'user_activities',
      ACTIVITY_COLUMNS,
      (values, at, row) => {
        values[at] = row.time;
        values[at + 1] = row.action;
        values[at + 2] = row.weight;
        values[at + 3] = row.count;
        values[at + 4] = row.email;
        values[at + 5] = row.externalId;
        values[at + 6] = row.companyExternalId;
        values[at + 7] = row.name;
        values[at + 8] = row.endUserId;
        values[at + 9] = row.companyId;
        values[at + 10] = row.info;
      },
    );
    const touch =
      sqlite.prepare<[{ at: string; workspaceId: string; model: string; id: string }]>(
        SQLITE_TOUCH_SQL,
      );
    // Nested transactions become savepoints, so the rows and the touches commit as one.
    this.writeActivities = sqlite.transaction(
      (workspaceId: string, receivedAt: number, rows: ActivityRow[], touches: Touch[]) => {
        for (const { model, id, lastActive } of touches) {
          touch.run({ at: new Date(lastActive).toISOString(), workspaceId, model, id });
        }
        insertActivities(workspaceId, receivedAt, rows);
      },
    );
    this.writeMetrics = sqliteInserter<MetricRow>(
      sqlite,
      'dimension_data',
      METRIC_COLUMNS,
      (values, at, row) => {
        values[at] = row.dimensionId;
        values[at + 1] = row.value;
        values[at + 2] = row.model;
        values[at + 3] = row.externalId;
        values[at + 4] = row.objectId;
        values[at + 5] = row.companyId;
        values[at + 6] = row.time;
        values[at + 7] = row.day;
      },
    );
  }

  insertActivities(
    workspaceId: string,
    receivedAt: number,
    rows: ActivityRow[],
    touches: Touch[] = [],
  ): Promise<void> {
    return this.group.run(rows.length, () =>
      this.writeActivities(workspaceId, receivedAt, rows, touches),
    );
  }

  insertMetrics(workspaceId: string, receivedAt: number, rows: MetricRow[]): Promise<void> {
    return this.group.run(rows.length, () => this.writeMetrics(workspaceId, receivedAt, rows));
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

function activityInsert(workspaceId: string, receivedAt: number, rows: ActivityRow[]) {
  return {
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
  };
}

/** Moves lastActive up on one model's touched records, locked for the rest of the transaction. */
async function touchAll(
  client: pg.PoolClient,
  workspaceId: string,
  model: Touch['model'],
  touches: Touch[],
): Promise<void> {
  const wanted = new Map(touches.filter((t) => t.model === model).map((t) => [t.id, t]));
  if (wanted.size === 0) return;

  const { rows } = await client.query<{ id: string; doc: string }>({
    name: 'analytics-lock-touched',
    text: `select id, doc from records where workspace_id = $1 and model = $2
      and id = any($3::text[]) order by id for update`,
    values: [workspaceId, model, [...wanted.keys()]],
  });
  const ids: string[] = [];
  const docs: string[] = [];
  for (const row of rows) {
    const touch = wanted.get(row.id);
    const updated = touch === undefined ? undefined : withLastActive(row.doc, touch.lastActive);
    if (updated === undefined) continue;
    ids.push(row.id);
    docs.push(updated);
  }
  if (ids.length === 0) return;

  await client.query({
    name: 'analytics-touch',
    text: `update records r set doc = v.doc, version = r.version + 1
      from unnest($3::text[], $4::text[]) as v(id, doc)
      where r.workspace_id = $1 and r.model = $2 and r.id = v.id`,
    values: [workspaceId, model, ids, docs],
  });
}

class PostgresAnalyticsWriter implements AnalyticsWriter {
  constructor(private readonly pool: pg.Pool) {}

  async insertActivities(
    workspaceId: string,
    receivedAt: number,
    rows: ActivityRow[],
    touches: Touch[] = [],
  ) {
    if (touches.length === 0) {
      if (rows.length > 0) await this.pool.query(activityInsert(workspaceId, receivedAt, rows));
      return;
    }

    const client = await this.pool.connect();
    try {
      await client.query('begin');
      // Companies before end users, and each by id, the order other writers lock in too.
      for (const model of ['Company', 'EndUser'] as const) {
        await touchAll(client, workspaceId, model, touches);
      }
      if (rows.length > 0) await client.query(activityInsert(workspaceId, receivedAt, rows));
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
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
