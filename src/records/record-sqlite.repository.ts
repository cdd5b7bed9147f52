import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import {
  DuplicateKeyError,
  runSync,
  type KeyLookup,
  type RecordRow,
  type RecordStoreOps,
  type StoredCustomField,
  type Work,
} from './record-store.js';
import {
  asDuplicateKey,
  AUDIT_BATCH,
  auditSql,
  pushAuditValues,
  INSERT_SQL,
  listDocs,
  pageRows,
  ROW_COLUMNS,
  toDefinitions,
  uniqueDomains,
  UPDATE_DOC_SQL,
  UPDATE_SQL,
} from './record-sql.js';
import type {
  RecordFilter,
  RecordListQuery,
  RecordPageRow,
  RecordStorage,
} from './record.repository.js';

/**
 * Records on SQLite: every statement that runs per request or per bulk item is prepared
 * once and reused, and writes run synchronously inside one better-sqlite3 transaction.
 */
export class SqliteRecordStorage implements RecordStorage {
  private readonly store: SqliteStore;
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
      return this.sqlite
        .transaction(() => {
          try {
            return runSync(work(), this.store);
          } finally {
            this.store.forgetRowids();
          }
        })
        .immediate();
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

/** The storage calls of writes, and the rowids of the rows they read in the open write. */
interface SqliteStore extends RecordStoreOps {
  forgetRowids(): void;
}

function sqliteStore(sqlite: BetterSqlite3.Database): SqliteStore {
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
  // One JSON array parameter, whatever the number of values. The rowid comes along, so
  // that the document updates of a bulk upsert find their row without the key index.
  // Rows come as arrays and are built here in RecordRow's shape: dropping a property
  // from the objects the driver builds would turn each into a slow dictionary.
  const inList = (column: string) =>
    sqlite
      .prepare<unknown[], unknown[]>(
        `select rowid, workspace_id, model, id, external_id, source_id, company_id, email,
         doc, created_at, updated_at, version
         from records where workspace_id = ? and model = ?
         and ${column} in (select value from json_each(?))`,
      )
      .raw();
  const many = {
    id: inList('id'),
    sourceId: inList('source_id'),
    externalId: inList('external_id'),
  };
  const children = sqlite.prepare<[string, string], RecordRow>(
    `select ${ROW_COLUMNS} from records where workspace_id = ? and company_id = ?`,
  );
  const listing = sqlite.prepare<[string, string, string, string], RecordRow>(
    `select ${ROW_COLUMNS} from records where workspace_id = ? and model = ?
     and exists (select 1 from json_each(records.doc, ?) where json_each.value = ?)`,
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
  const updateDocAt = sqlite.prepare<[string, string, number, number, string, string, string]>(
    `update records set doc = ?, updated_at = ?, version = ?
     where rowid = ? and workspace_id = ? and model = ? and id = ?`,
  );
  // Rowids read by findMany in the open write, by model and id.
  const rowids = new Map<string, number>();
  const remove = sqlite.prepare<[string, string, string]>(
    'delete from records where workspace_id = ? and model = ? and id = ?',
  );
  const clearDomains = sqlite.prepare<[string, string]>(
    'delete from record_domains where workspace_id = ? and company_id = ?',
  );
  const addDomain = sqlite.prepare<[string, string, string]>(
    'insert or ignore into record_domains (workspace_id, domain, company_id) values (?, ?, ?)',
  );
  // A statement per number of rows, prepared when first needed. Rows go in by
  // AUDIT_BATCH, and a write's last ones by powers of two, so that a handful of
  // statements serve every write.
  const auditStatements = new Map<number, BetterSqlite3.Statement<unknown[]>>();
  const auditInsert = (rows: number) => {
    let statement = auditStatements.get(rows);
    if (statement === undefined) {
      statement = sqlite.prepare<unknown[]>(auditSql(rows));
      auditStatements.set(rows, statement);
    }
    return statement;
  };
  const auditRows = (remaining: number) =>
    remaining >= AUDIT_BATCH ? AUDIT_BATCH : 2 ** Math.floor(Math.log2(remaining));

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
    findMany(workspaceId, model, kind, values) {
      const rows: RecordRow[] = [];
      for (const raw of many[kind].all(workspaceId, model, JSON.stringify(values))) {
        const row = rowOf(raw);
        rowids.set(`${row.model}/${row.id}`, raw[0] as number);
        rows.push(row);
      }
      return rows;
    },
    findByEmail: (workspaceId, model, email) => byEmail.all(workspaceId, model, email),
    findChildren: (workspaceId, companyId) => children.all(workspaceId, companyId),
    findListing: (workspaceId, model, field, value) =>
      listing.all(workspaceId, model, `$.${field}`, value),
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
      const rowid = rowids.get(`${row.model}/${row.id}`);
      // The rowid is a hint: when it no longer names the record, nothing is updated.
      if (rowid !== undefined) {
        const { doc, updatedAt, version, workspaceId, model, id } = row;
        const at = updateDocAt.run(doc, updatedAt, version, rowid, workspaceId, model, id);
        if (at.changes === 1) return;
      }
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
    forgetRowids() {
      rowids.clear();
    },
    // Each statement costs little here: writes go out as they come.
    beginBatch: () => false,
    endBatch() {},
    audit(events) {
      const values: unknown[] = [];
      for (let start = 0; start < events.length;) {
        const rows = auditRows(events.length - start);
        values.length = 0;
        for (const event of events.slice(start, start + rows)) pushAuditValues(values, event);
        auditInsert(rows).run(values);
        start += rows;
      }
    },
  };
}

/** A row read with `rowid` first and the columns of RecordRow in their order after it. */
function rowOf(raw: readonly unknown[]): RecordRow {
  return {
    workspaceId: raw[1] as string,
    model: raw[2] as string,
    id: raw[3] as string,
    externalId: raw[4] as string | null,
    sourceId: raw[5] as string | null,
    companyId: raw[6] as string | null,
    email: raw[7] as string | null,
    doc: raw[8] as string,
    createdAt: raw[9] as string,
    updatedAt: raw[10] as string,
    version: raw[11] as number,
  };
}
