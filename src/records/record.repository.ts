import type BetterSqlite3 from 'better-sqlite3';
import { sql, type Expression, type Kysely, type SqlBool, type Transaction } from 'kysely';
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

const SAVEPOINT = 'record_item';

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
  const savepoint = sqlite.prepare(`savepoint ${SAVEPOINT}`);
  const release = sqlite.prepare(`release ${SAVEPOINT}`);
  const rollback = sqlite.prepare(`rollback to ${SAVEPOINT}`);
  let inSavepoint = false;

  const writeRow = (statement: BetterSqlite3.Statement<[RecordRow]>, row: RecordRow) => {
    try {
      statement.run(row);
    } catch (error) {
      throw asDuplicateKey(error);
    }
  };

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
    insert: (row) => writeRow(insert, row),
    update: (row) => writeRow(update, row),
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
    savepoint(laterRefusable) {
      if (!laterRefusable) return;
      savepoint.run();
      inSavepoint = true;
    },
    release() {
      if (!inSavepoint) return;
      inSavepoint = false;
      release.run();
    },
    rollback() {
      if (!inSavepoint) return;
      inSavepoint = false;
      rollback.run();
      release.run();
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

const DOC_BY_ID_SQL = 'select doc from records where workspace_id = $1 and model = $2 and id = $3';

class PostgresRecordStorage implements RecordStorage {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly pool: pg.Pool,
  ) {}

  async docById(workspaceId: string, model: string, id: string): Promise<string | undefined> {
    // A named query is prepared once per pooled connection.
    const result = await this.pool.query<{ doc: string }>({
      name: 'record_doc_by_id',
      text: DOC_BY_ID_SQL,
      values: [workspaceId, model, id],
    });
    return result.rows[0]?.doc;
  }

  async find(workspaceId: string, model: string, key: KeyLookup): Promise<RecordRow[]> {
    return postgresStore(this.db).find(workspaceId, model, key);
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
    return postgresStore(this.db).customFields(workspaceId);
  }

  async write<T>(work: () => Work<T>): Promise<T> {
    return this.db.transaction().execute((trx) => runAsync(work(), postgresStore(trx)));
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

type Executor = Kysely<Schema> | Transaction<Schema>;

function postgresStore(db: Executor): AsyncRecordStore {
  const rows = (where: Expression<SqlBool>, limit?: number) =>
    sql<RecordRow>`select ${sql.raw(ROW_COLUMNS)} from records where ${where}
      ${limit === undefined ? sql`` : sql`limit ${limit}`}`
      .execute(db)
      .then((result) => result.rows);
  const inModel = (workspaceId: string, model: string) =>
    sql<SqlBool>`workspace_id = ${workspaceId} and model = ${model}`;

  const addDomains = async (workspaceId: string, companyId: string, domains: readonly string[]) => {
    const values = uniqueDomains(domains).map((domain) => ({
      workspace_id: workspaceId,
      domain,
      company_id: companyId,
    }));
    if (values.length === 0) return;
    await db
      .insertInto('record_domains')
      .values(values)
      .onConflict((conflict) => conflict.doNothing())
      .execute();
  };

  const writeRow = async (write: Promise<unknown>) => {
    try {
      await write;
    } catch (error) {
      throw asDuplicateKey(error);
    }
  };

  return {
    async find(workspaceId, model, key) {
      const scope = inModel(workspaceId, model);
      switch (key.kind) {
        case 'id':
          return rows(sql`${scope} and id = ${key.value}`, 1);
        case 'sourceId':
          return rows(sql`${scope} and source_id = ${key.value}`, 2);
        case 'externalId':
          return key.companyId === undefined
            ? rows(sql`${scope} and external_id = ${key.value}`, 2)
            : rows(
                sql`${scope} and external_id = ${key.value}
                  and coalesce(company_id, '') = ${key.companyId ?? ''}`,
                2,
              );
      }
    },
    findByEmail: (workspaceId, model, email) =>
      rows(sql`${inModel(workspaceId, model)} and email = ${email}`, 2),
    findChildren: (workspaceId, companyId) =>
      rows(sql`workspace_id = ${workspaceId} and company_id = ${companyId}`),
    async companyByDomain(workspaceId, domain) {
      const row = await db
        .selectFrom('record_domains')
        .select('company_id')
        .where('workspace_id', '=', workspaceId)
        .where('domain', '=', domain)
        .orderBy('company_id')
        .limit(1)
        .executeTakeFirst();
      return row?.company_id;
    },
    async customFields(workspaceId) {
      const found = await db
        .selectFrom('records')
        .select('doc')
        .where('workspace_id', '=', workspaceId)
        .where('model', '=', 'CustomField')
        .orderBy('id')
        .execute();
      return toDefinitions(found.map((row) => row.doc));
    },
    insert: (row) => writeRow(db.insertInto('records').values(toColumns(row)).execute()),
    update: (row) =>
      writeRow(
        db
          .updateTable('records')
          .set({
            external_id: row.externalId,
            source_id: row.sourceId,
            company_id: row.companyId,
            email: row.email,
            doc: row.doc,
            updated_at: row.updatedAt,
            version: row.version,
          })
          .where('workspace_id', '=', row.workspaceId)
          .where('model', '=', row.model)
          .where('id', '=', row.id)
          .execute(),
      ),
    async updateDoc(row) {
      await db
        .updateTable('records')
        .set({ doc: row.doc, updated_at: row.updatedAt, version: row.version })
        .where('workspace_id', '=', row.workspaceId)
        .where('model', '=', row.model)
        .where('id', '=', row.id)
        .execute();
    },
    async remove(workspaceId, model, id) {
      await db
        .deleteFrom('records')
        .where('workspace_id', '=', workspaceId)
        .where('model', '=', model)
        .where('id', '=', id)
        .execute();
    },
    async setDomains(workspaceId, companyId, domains) {
      await db
        .deleteFrom('record_domains')
        .where('workspace_id', '=', workspaceId)
        .where('company_id', '=', companyId)
        .execute();
      await addDomains(workspaceId, companyId, domains);
    },
    addDomains,
    async audit(events) {
      for (let start = 0; start < events.length; start += 1000) {
        const rows = events.slice(start, start + 1000).map(auditRow);
        await db.insertInto('audit_events').values(rows).execute();
      }
    },
    async savepoint() {
      await sql`savepoint ${sql.raw(SAVEPOINT)}`.execute(db);
    },
    async release() {
      await sql`release savepoint ${sql.raw(SAVEPOINT)}`.execute(db);
    },
    async rollback() {
      await sql`rollback to savepoint ${sql.raw(SAVEPOINT)}`.execute(db);
      await sql`release savepoint ${sql.raw(SAVEPOINT)}`.execute(db);
    },
  };
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
