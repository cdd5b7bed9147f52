import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Schema } from '../db/schema.js';
import { batchingStore, type DirectStore, type Queryable } from './record-postgres-batch.js';
import {
  runAsync,
  type AsyncRecordStore,
  type KeyKind,
  type KeyLookup,
  type RecordRow,
  type StoredCustomField,
  type UniqueKey,
  type Work,
} from './record-store.js';
import {
  asDuplicateKey,
  AUDIT_BATCH,
  auditSql,
  auditValues,
  listDocs,
  pageRows,
  ROW_COLUMNS,
  toDefinitions,
  uniqueDomains,
} from './record-sql.js';
import type {
  RecordFilter,
  RecordListQuery,
  RecordPageRow,
  RecordStorage,
} from './record.repository.js';

/**
 * Records on PostgreSQL: reads and writes by key are named queries on the pool, prepared
 * once per connection; lists and export pages are built with Kysely.
 */
export class PostgresRecordStorage implements RecordStorage {
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

const KEY_COLUMNS: Record<KeyKind, string> = {
  id: 'id',
  sourceId: 'source_id',
  externalId: 'external_id',
};

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
  return batchingStore(db, directStore(db));
}

/** Every storage call, each sent as it is made. */
function directStore(db: Queryable): DirectStore {
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

  const store: DirectStore = {
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
    // Not a named query: after five runs PostgreSQL would switch a prepared statement to a
    // generic plan, which cannot know how many values the array holds and scans the model.
    findMany: async (workspaceId, model, kind, values) =>
      (
        await db.query<RecordRow>(`${PG_ROWS} ${KEY_COLUMNS[kind]} = any($3::text[])`, [
          workspaceId,
          model,
          values,
        ])
      ).rows,
    findByEmail: (workspaceId, model, email) =>
      rowsWhere('by_email', 'email = $3 limit 2', [workspaceId, model, email]),
    findChildren: (workspaceId, companyId) =>
      named<RecordRow>(
        'records_children',
        `select ${ROW_COLUMNS} from records where workspace_id = $1 and company_id = $2`,
        [workspaceId, companyId],
      ),
    // jsonb_exists, the `?` operator, finds a string among the elements of an array.
    findListing: (workspaceId, model, field, value) =>
      named<RecordRow>(
        'records_listing',
        `${PG_ROWS} jsonb_exists(doc::jsonb -> $3::text, $4::text)`,
        [workspaceId, model, field, value],
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
        await db.query(text, auditValues(batch));
      }
    },
  };
  return store;
}

/** Which unique key made an insert do nothing: the record that holds it is looked up. */
async function takenKey(store: DirectStore, row: RecordRow): Promise<UniqueKey> {
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
