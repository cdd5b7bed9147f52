import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type pg from 'pg';
import type { Database } from '../db/database.js';
import type { Schema } from '../db/schema.js';
import { newObjectId } from './record-validation.js';
import {
  DuplicateKeyError,
  duplicateKeyOf,
  runAsync,
  runSync,
  type AsyncRecordStore,
  type KeyLookup,
  type RecordAuditEvent,
  type RecordRow,
  type RecordStoreOps,
  type StoredCustomField,
  type UniqueKey,
  type Work,
} from './record-store.js';

/**
 * Storage of workspace records on SQLite and PostgreSQL. Every statement filters by
 * workspace. On SQLite the statements that run per request or per bulk item are
 * prepared once and reused; Kysely builds the rest (lists with filters and sorts).
 */

export type RecordColumn = 'id' | 'external_id' | 'source_id' | 'company_id' | 'email';

/**
 * A list condition: a key column equal to one of the values, a top-level document field
 * equal to one of them, or a top-level array field containing one of them.
 */
export type RecordFilter =
  | { readonly kind: 'column'; readonly column: RecordColumn; readonly values: readonly string[] }
  | { readonly kind: 'field'; readonly field: string; readonly values: readonly string[] }
  | { readonly kind: 'contains'; readonly field: string; readonly values: readonly string[] };

/** A sort on a column, or on a document path: `['name']` or `['custom', 'Score']`. */
export type RecordSort =
  | { readonly column: 'id' | 'created_at' | 'updated_at'; readonly direction: 'asc' | 'desc' }
  | { readonly path: readonly string[]; readonly direction: 'asc' | 'desc' };

export interface RecordListQuery {
  readonly filters: readonly RecordFilter[];
  readonly sort: RecordSort;
  readonly limit: number;
  readonly offset: number;
}

export interface RecordPageRow {
  id: string;
  doc: string;
}

/** Reads and writes of records; one per database, made by `openRecordStorage`. */
export interface RecordStorage {
  /** The stored JSON text of one record: the hot path of the main API. */
  docById(workspaceId: string, model: string, id: string): Promise<string | undefined>;
  find(workspaceId: string, model: string, key: KeyLookup): Promise<RecordRow[]>;
  list(workspaceId: string, model: string, query: RecordListQuery): Promise<string[]>;
  /** Keyset page for exports: the next `limit` records after `afterId`, by id. */
  page(
    workspaceId: string,
    model: string,
    filters: readonly RecordFilter[],
    afterId: string,
    limit: number,
  ): Promise<RecordPageRow[]>;
  customFields(workspaceId: string): Promise<StoredCustomField[]>;
  /** Runs a write in one transaction; on SQLite, synchronously, start to end. */
  write<T>(work: () => Work<T>): Promise<T>;
  /** Loads rows as they are, in one transaction, bypassing audit: seeding and tests. */
  insertMany(rows: readonly RecordRow[]): Promise<void>;
}

const storages = new WeakMap<Database, RecordStorage>();

export function openRecordStorage(database: Database): RecordStorage {
  const known = storages.get(database);
  if (known !== undefined) return known;
  const storage =
    database.sqlite !== undefined
      ? new SqliteRecordStorage(database.db, database.sqlite)
      : new PostgresRecordStorage(database.db, requirePool(database));
  storages.set(database, storage);
  return storage;
}

function requirePool(database: Database): pg.Pool {
  if (database.pool === undefined) throw new Error('database has neither SQLite nor a pool');
  return database.pool;
}

const ROW_COLUMNS = `workspace_id as "workspaceId", model, id, external_id as "externalId",
  source_id as "sourceId", company_id as "companyId", email, doc,
  created_at as "createdAt", updated_at as "updatedAt", version`;

const INSERT_SQL = `insert into records
  (workspace_id, model, id, external_id, source_id, company_id, email, doc, created_at,
   updated_at, version)
  values (@workspaceId, @model, @id, @externalId, @sourceId, @companyId, @email, @doc,
   @createdAt, @updatedAt, @version)`;

const UPDATE_SQL = `update records set external_id = @externalId, source_id = @sourceId,
  company_id = @companyId, email = @email, doc = @doc, updated_at = @updatedAt,
  version = @version
  where workspace_id = @workspaceId and model = @model and id = @id`;

/** Audit rows go in by this many per statement. */
const AUDIT_BATCH = 50;

function auditSql(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  return `insert into audit_events
    (id, workspace_id, at, actor_type, actor_id, actor_name, action, target_type, target_id,
     changes)
    values ${values.join(', ')}`;
}

const AUDIT_SQL = auditSql(1);

const UPDATE_DOC_SQL = `update records set doc = @doc, updated_at = @updatedAt, version = @version
  where workspace_id = @workspaceId and model = @model and id = @id`;

function auditRow(event: RecordAuditEvent) {
  return {
    id: newObjectId(),
    workspace_id: event.workspaceId,
    at: event.at,
    actor_type: event.actor.type,
    actor_id: event.actor.id,
    actor_name: event.actor.name,
    action: event.action,
    target_type: event.targetType,
    target_id: event.targetId,
    changes: JSON.stringify(event.changes ?? {}),
  };
}

function auditValues(event: RecordAuditEvent): unknown[] {
  const row = auditRow(event);
  return [
    row.id,
    row.workspace_id,
    row.at,
    row.actor_type,
    row.actor_id,
    row.actor_name,
    row.action,
    row.target_type,
    row.target_id,
    row.changes,
  ];
}

function toDefinitions(docs: readonly string[]): StoredCustomField[] {
  const definitions: StoredCustomField[] = [];
  for (const doc of docs) {
    const parsed = JSON.parse(doc) as Record<string, unknown>;
    const { _id: id, parent, name, type } = parsed;
    if (typeof id !== 'string' || typeof parent !== 'string') continue;
    if (typeof name !== 'string' || typeof type !== 'string') continue;
    definitions.push({ id, model: parent, name, type });
  }
  return definitions;
}

function uniqueDomains(domains: readonly string[]): string[] {
  return [...new Set(domains.map((domain) => domain.trim().toLowerCase()))].filter(
    (domain) => domain !== '',
  );
}

class SqliteRecordStorage implements RecordStorage {
  private readonly store: RecordStoreOps;
  private readonly byId: BetterSqlite3.Statement<[string, string, string], string>;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly sqlite: BetterSqlite3.Database,
  ) {
    this.byId = sqlite
      .prepare<[string, string, string], string>(
        'select doc from records where workspace_id = ? and model = ? and id = ?',
      )
      .pluck();
    this.store = sqliteStore(sqlite);
  }

  async docById(workspaceId: string, model: string, id: string): Promise<string | undefined> {
    return this.byId.get(workspaceId, model, id);
  }

  async find(workspaceId: string, model: string, key: KeyLookup): Promise<RecordRow[]> {
    return this.store.find(workspaceId, model, key);
  }

  async list(workspaceId: string, model: string, query: RecordListQuery): Promise<string[]> {
    return listDocs(this.db, 'sqlite', workspaceId, model, query);
  }

  async page(
    workspaceId: string,
    model: string,
    filters: readonly RecordFilter[],
    afterId: string,
    limit: number,
  ): Promise<RecordPageRow[]> {
    return pageRows(this.db, 'sqlite', workspaceId, model, filters, afterId, limit);
  }

  async customFields(workspaceId: string): Promise<StoredCustomField[]> {
    return this.store.customFields(workspaceId);
  }

  async write<T>(work: () => Work<T>): Promise<T> {
    // Holding Kysely's one connection keeps its transactions, which await between
    // statements, from being open while this one runs; the work itself never awaits.
    return this.db.connection().execute(async () => {
      if (this.sqlite.inTransaction) throw new Error('a SQLite transaction is already open');
      return this.sqlite.transaction(() => runSync(work(), this.store)).immediate();
    });
  }

  async insertMany(rows: readonly RecordRow[]): Promise<void> {
    const insert = this.sqlite.prepare(INSERT_SQL);
    await this.db.connection().execute(async () => {
      this.sqlite.transaction(() => {
        for (const row of rows) insert.run(row);
      })();
    });
  }
}

function sqliteStore(sqlite: BetterSqlite3.Database): RecordStoreOps {
  const prepareRows = (where: string) =>
    sqlite.prepare<unknown[], RecordRow>(
      `select ${ROW_COLUMNS} from records where workspace_id = ? and model = ? and ${where}`,
    );
  const byId = prepareRows('id = ?');
  const bySource = prepareRows('source_id = ? limit 2');
  const byExternal = prepareRows('external_id = ? limit 2');
  const byExternalInCompany = prepareRows(
    `external_id = ? and coalesce(company_id, '') = ? limit 2`,
  );
  const byEmail = prepareRows('email = ? limit 2');
  const children = sqlite.prepare<[string, string], RecordRow>(
    `select ${ROW_COLUMNS} from records where workspace_id = ? and company_id = ?`,
  );
  const domainCompany = sqlite
    .prepare<[string, string], string>(
      `select company_id from record_domains where workspace_id = ? and domain = ?
       order by company_id limit 1`,
    )
    .pluck();
  const customFieldDocs = sqlite
    .prepare<[string], string>(
      `select doc from records where workspace_id = ? and model = 'CustomField' order by id`,
    )
    .pluck();
  const insert = sqlite.prepare<[RecordRow]>(INSERT_SQL);
  const update = sqlite.prepare<[RecordRow]>(UPDATE_SQL);
  const updateDoc = sqlite.prepare<[RecordRow]>(UPDATE_DOC_SQL);
  const remove = sqlite.prepare<[string, string, string]>(
    'delete from records where workspace_id = ? and model = ? and id = ?',
  );
  const clearDomains = sqlite.prepare<[string, string]>(
    'delete from record_domains where workspace_id = ? and company_id = ?',
  );
  const addDomain = sqlite.prepare<[string, string, string]>(
    'insert or ignore into record_domains (workspace_id, domain, company_id) values (?, ?, ?)',
  );
  const audit = sqlite.prepare<unknown[]>(AUDIT_SQL);
  const auditBatch = sqlite.prepare<unknown[]>(auditSql(AUDIT_BATCH));

  return {
    find(workspaceId, model, key) {
      switch (key.kind) {
        case 'id': {
          const row = byId.get(workspaceId, model, key.value);
          return row === undefined ? [] : [row];
        }
        case 'sourceId':
          return bySource.all(workspaceId, model, key.value);
        case 'externalId':
          return key.companyId === undefined
            ? byExternal.all(workspaceId, model, key.value)
            : byExternalInCompany.all(workspaceId, model, key.value, key.companyId ?? '');
      }
    },
    findByEmail: (workspaceId, model, email) => byEmail.all(workspaceId, model, email),
    findChildren: (workspaceId, companyId) => children.all(workspaceId, companyId),
    companyByDomain: (workspaceId, domain) => domainCompany.get(workspaceId, domain),
    customFields: (workspaceId) => toDefinitions(customFieldDocs.all(workspaceId)),
    // A statement refused by a constraint changes nothing in SQLite, and the transaction
    // goes on.
    insert(row) {
      try {
        insert.run(row);
        return undefined;
      } catch (error) {
        const duplicate = asDuplicateKey(error);
        if (duplicate instanceof DuplicateKeyError) return duplicate.key;
        throw error;
      }
    },
    update(row) {
      try {
        update.run(row);
      } catch (error) {
        throw asDuplicateKey(error);
      }
    },
    updateDoc(row) {
      updateDoc.run(row);
    },
    remove(workspaceId, model, id) {
      remove.run(workspaceId, model, id);
    },
    setDomains(workspaceId, companyId, domains) {
      clearDomains.run(workspaceId, companyId);
      for (const domain of uniqueDomains(domains)) addDomain.run(workspaceId, domain, companyId);
    },
    addDomains(workspaceId, companyId, domains) {
      for (const domain of uniqueDomains(domains)) addDomain.run(workspaceId, domain, companyId);
    },
    audit(events) {
      let start = 0;
      for (; start + AUDIT_BATCH <= events.length; start += AUDIT_BATCH) {
        auditBatch.run(events.slice(start, start + AUDIT_BATCH).flatMap(auditValues));
      }
      for (const event of events.slice(start)) audit.run(auditValues(event));
    },
  };
}

function asDuplicateKey(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const code = (error as { code?: unknown }).code;
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    return new DuplicateKeyError(duplicateKeyOf(error.message), { cause: error });
  }
  if (code === '23505') {
    const constraint = (error as { constraint?: unknown }).constraint;
    const text = typeof constraint === 'string' ? constraint : error.message;
    return new DuplicateKeyError(duplicateKeyOf(text), { cause: error });
  }
  return error;
}

class PostgresRecordStorage implements RecordStorage {
  private readonly reads: AsyncRecordStore;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly pool: pg.Pool,
  ) {
    this.reads = postgresStore(pool);
  }

  async docById(workspaceId: string, model: string, id: string): Promise<string | undefined> {
    const result = await this.pool.query<{ doc: string }>({
      name: 'record_doc_by_id',
      text: 'select doc from records where workspace_id = $1 and model = $2 and id = $3',
      values: [workspaceId, model, id],
    });
    return result.rows[0]?.doc;
  }

  async find(workspaceId: string, model: string, key: KeyLookup): Promise<RecordRow[]> {
    return this.reads.find(workspaceId, model, key);
  }

  async list(workspaceId: string, model: string, query: RecordListQuery): Promise<string[]> {
    return listDocs(this.db, 'postgres', workspaceId, model, query);
  }

  async page(
    workspaceId: string,
    model: string,
    filters: readonly RecordFilter[],
    afterId: string,
    limit: number,
  ): Promise<RecordPageRow[]> {
    return pageRows(this.db, 'postgres', workspaceId, model, filters, afterId, limit);
  }

  async customFields(workspaceId: string): Promise<StoredCustomField[]> {
    return this.reads.customFields(workspaceId);
  }

  /** One pooled connection, one transaction, statements prepared once per connection. */
  async write<T>(work: () => Work<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('begin');
      const result = await runAsync(work(), postgresStore(client));
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed');
      });
      throw error;
    } finally {
      // A connection that could not roll back is closed rather than reused.
      client.release(broken);
    }
  }

  async insertMany(rows: readonly RecordRow[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (let start = 0; start < rows.length; start += 1000) {
        await trx
          .insertInto('records')
          .values(rows.slice(start, start + 1000).map(toColumns))
          .execute();
      }
    });
  }
}

function toColumns(row: RecordRow): Schema['records'] {
  return {
    workspace_id: row.workspaceId,
    model: row.model,
    id: row.id,
    external_id: row.externalId,
    source_id: row.sourceId,
    company_id: row.companyId,
    email: row.email,
    doc: row.doc,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    version: row.version,
  };
}

/** A pool or one of its connections: both answer `query`. */
type Queryable = Pick<pg.Pool, 'query'>;

const PG_ROWS = `select ${ROW_COLUMNS} from records where workspace_id = $1 and model = $2 and`;
const PG_INSERT = `insert into records
  (workspace_id, model, id, external_id, source_id, company_id, email, doc, created_at,
   updated_at, version)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
  on conflict do nothing returning id`;
const PG_UPDATE = `update records set external_id = $4, source_id = $5, company_id = $6,
  email = $7, doc = $8, updated_at = $9, version = $10
  where workspace_id = $1 and model = $2 and id = $3`;
const PG_UPDATE_DOC = `update records set doc = $4, updated_at = $5, version = $6
  where workspace_id = $1 and model = $2 and id = $3`;

/**
 * PostgreSQL writes skip Kysely: each statement is a named query, prepared once per
 * connection, so a bulk upsert costs one round trip per statement and little else.
 */
function postgresStore(db: Queryable): AsyncRecordStore {
  const named = async <R extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<R[]> => (await db.query<R>({ name, text, values })).rows;

  const rowsWhere = (name: string, where: string, values: unknown[]) =>
    named<RecordRow>(`records_${name}`, `${PG_ROWS} ${where}`, values);

  const addDomains = async (workspaceId: string, companyId: string, domains: readonly string[]) => {
    const unique = uniqueDomains(domains);
    if (unique.length === 0) return;
    const values = unique.map((_, i) => `($1, $2, $${i + 3})`).join(', ');
    await db.query(
      `insert into record_domains (workspace_id, company_id, domain) values ${values}
       on conflict do nothing`,
      [workspaceId, companyId, ...unique],
    );
  };

  const store: AsyncRecordStore = {
    async find(workspaceId, model, key) {
      switch (key.kind) {
        case 'id':
          return rowsWhere('by_id', 'id = $3', [workspaceId, model, key.value]);
        case 'sourceId':
          return rowsWhere('by_source', 'source_id = $3 limit 2', [workspaceId, model, key.value]);
        case 'externalId':
          return key.companyId === undefined
            ? rowsWhere('by_external', 'external_id = $3 limit 2', [workspaceId, model, key.value])
            : rowsWhere(
                'by_external_in_company',
                `external_id = $3 and coalesce(company_id, '') = $4 limit 2`,
                [workspaceId, model, key.value, key.companyId ?? ''],
              );
      }
    },
    findByEmail: (workspaceId, model, email) =>
      rowsWhere('by_email', 'email = $3 limit 2', [workspaceId, model, email]),
    findChildren: (workspaceId, companyId) =>
      named<RecordRow>(
        'records_children',
        `select ${ROW_COLUMNS} from records where workspace_id = $1 and company_id = $2`,
        [workspaceId, companyId],
      ),
    async companyByDomain(workspaceId, domain) {
      const [row] = await named<{ company_id: string }>(
        'record_domain_company',
        `select company_id from record_domains where workspace_id = $1 and domain = $2
         order by company_id limit 1`,
        [workspaceId, domain],
      );
      return row?.company_id;
    },
    async customFields(workspaceId) {
      const rows = await named<{ doc: string }>(
        'record_custom_fields',
        `select doc from records where workspace_id = $1 and model = 'CustomField' order by id`,
        [workspaceId],
      );
      return toDefinitions(rows.map((row) => row.doc));
    },
    // `on conflict do nothing` answers a taken key without an error, which would
    // otherwise abort the whole transaction.
    async insert(row) {
      const inserted = await named<{ id: string }>('record_insert', PG_INSERT, [
        row.workspaceId,
        row.model,
        row.id,
        row.externalId,
        row.sourceId,
        row.companyId,
        row.email,
        row.doc,
        row.createdAt,
        row.updatedAt,
        row.version,
      ]);
      if (inserted.length > 0) return undefined;
      return takenKey(store, row);
    },
    async update(row) {
      await db.query('savepoint record_keys');
      try {
        await named('record_update', PG_UPDATE, [
          row.workspaceId,
          row.model,
          row.id,
          row.externalId,
          row.sourceId,
          row.companyId,
          row.email,
          row.doc,
          row.updatedAt,
          row.version,
        ]);
      } catch (error) {
        await db.query('rollback to savepoint record_keys');
        await db.query('release savepoint record_keys');
        throw asDuplicateKey(error);
      }
      await db.query('release savepoint record_keys');
    },
    async updateDoc(row) {
      await named('record_update_doc', PG_UPDATE_DOC, [
        row.workspaceId,
        row.model,
        row.id,
        row.doc,
        row.updatedAt,
        row.version,
      ]);
    },
    async remove(workspaceId, model, id) {
      await named(
        'record_delete',
        'delete from records where workspace_id = $1 and model = $2 and id = $3',
        [workspaceId, model, id],
      );
    },
    async setDomains(workspaceId, companyId, domains) {
      await named(
        'record_domains_clear',
        'delete from record_domains where workspace_id = $1 and company_id = $2',
        [workspaceId, companyId],
      );
      await addDomains(workspaceId, companyId, domains);
    },
    addDomains,
    async audit(events) {
      for (let start = 0; start < events.length; start += AUDIT_BATCH) {
        const batch = events.slice(start, start + AUDIT_BATCH);
        let placeholder = 0;
        const text = auditSql(batch.length).replace(/\?/g, () => `$${++placeholder}`);
        await db.query(text, batch.flatMap(auditValues));
      }
    },
  };
  return store;
}

/** Which unique key made an insert do nothing: the record that holds it is looked up. */
async function takenKey(store: AsyncRecordStore, row: RecordRow): Promise<UniqueKey> {
  if (row.sourceId !== null) {
    const holders = await store.find(row.workspaceId, row.model, {
      kind: 'sourceId',
      value: row.sourceId,
    });
    if (holders.length > 0) return 'sourceId';
  }
  if (row.externalId !== null) return 'externalId';
  return '_id';
}

type Dialect = Database['dialect'];

/** A top-level field or custom value of the document, as SQL. */
function docValue(dialect: Dialect, path: readonly string[], asText: boolean) {
  const [field = '', name] = path;
  if (dialect === 'sqlite') {
    // `->>` with a plain label reads that key whatever characters it holds.
    return name === undefined
      ? sql`(doc ->> ${`$.${field}`})`
      : sql`((doc -> ${`$.${field}`}) ->> ${name})`;
  }
  // `->` keeps JSON ordering (numbers as numbers); `->>` compares as text.
  const last = asText ? sql.raw('->>') : sql.raw('->');
  return name === undefined
    ? sql`(doc::jsonb ${last} ${field})`
    : sql`(doc::jsonb -> ${field} ${last} ${name})`;
}

function filterCondition(dialect: Dialect, filter: RecordFilter): Expression<SqlBool> {
  const values = sql.join(filter.values.map((value) => sql`${value}`));
  switch (filter.kind) {
    case 'column':
      return sql<SqlBool>`${sql.ref(filter.column)} in (${values})`;
    case 'field':
      return sql<SqlBool>`${docValue(dialect, [filter.field], true)} in (${values})`;
    case 'contains':
      return dialect === 'sqlite'
        ? sql<SqlBool>`exists (select 1 from json_each(records.doc, ${`$.${filter.field}`})
            where json_each.value in (${values}))`
        : sql<SqlBool>`jsonb_exists_any(doc::jsonb -> ${filter.field}, array[${values}]::text[])`;
  }
}

async function listDocs(
  db: Kysely<Schema>,
  dialect: Dialect,
  workspaceId: string,
  model: string,
  query: RecordListQuery,
): Promise<string[]> {
  let select = db
    .selectFrom('records')
    .select('doc')
    .where('workspace_id', '=', workspaceId)
    .where('model', '=', model);
  for (const filter of query.filters) select = select.where(filterCondition(dialect, filter));

  const { sort } = query;
  // Missing values sort first going up and last going down, on both databases.
  if ('column' in sort) {
    select = select.orderBy(sort.column, sort.direction);
  } else {
    const value = docValue(dialect, sort.path, false);
    select = select.orderBy(value, (order) =>
      sort.direction === 'asc' ? order.asc().nullsFirst() : order.desc().nullsLast(),
    );
  }
  if (!('column' in sort && sort.column === 'id')) select = select.orderBy('id', sort.direction);

  const rows = await select.limit(query.limit).offset(query.offset).execute();
  return rows.map((row) => row.doc);
}

async function pageRows(
  db: Kysely<Schema>,
  dialect: Dialect,
  workspaceId: string,
  model: string,
  filters: readonly RecordFilter[],
  afterId: string,
  limit: number,
): Promise<RecordPageRow[]> {
  let select = db
    .selectFrom('records')
    .select(['id', 'doc'])
    .where('workspace_id', '=', workspaceId)
    .where('model', '=', model)
    .where('id', '>', afterId);
  for (const filter of filters) select = select.where(filterCondition(dialect, filter));
  return select.orderBy('id').limit(limit).execute();
}
