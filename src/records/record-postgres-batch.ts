import type pg from 'pg';
import { BatchRefused, type AsyncRecordStore, type RecordRow } from './record-store.js';
import { uniqueDomains } from './record-sql.js';

/** A pool or one of its connections: both answer `query`. */
export type Queryable = Pick<pg.Pool, 'query'>;

/** The storage calls that are sent as they are made. */
export type DirectStore = Omit<AsyncRecordStore, 'beginBatch' | 'endBatch'>;

const SAVEPOINT = 'record_batch';

// Arrays of one column each: one statement and one round trip, whatever the number of rows.
const INSERT_ROWS = `insert into records
  (workspace_id, model, id, external_id, source_id, company_id, email, doc, created_at,
   updated_at, version)
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
    $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::int[])
  on conflict do nothing`;
const UPDATE_DOCS = `update records r
  set doc = v.doc, updated_at = v.updated_at, version = v.version
  from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[])
    as v (workspace_id, model, id, doc, updated_at, version)
  where r.workspace_id = v.workspace_id and r.model = v.model and r.id = v.id`;
const INSERT_DOMAINS = `insert into record_domains (workspace_id, company_id, domain)
  select * from unnest($1::text[], $2::text[], $3::text[])
  on conflict do nothing`;

/**
 * Bulk upserts on PostgreSQL pay a round trip per statement. Between `beginBatch` and
 * `endBatch` this store holds inserts, document updates and new domains, and sends them
 * in three statements before any other call, so that every read sees them. The batch
 * runs inside a savepoint: an insert that finds its key taken (by a concurrent
 * transaction, since the upsert checked its keys first) makes nothing of the batch
 * stay, and the caller runs it again without deferring.
 */
export function batchingStore(db: Queryable, direct: DirectStore): AsyncRecordStore {
  let batching = false;
  const inserts = new Map<string, RecordRow>();
  const updates = new Map<string, RecordRow>();
  const domains: [string, string, string][] = [];

  const flush = async () => {
    if (inserts.size > 0) {
      const rows = [...inserts.values()];
      inserts.clear();
      const result = await db.query({
        name: 'records_insert_rows',
        text: INSERT_ROWS,
        values: insertColumns(rows),
      });
      if (result.rowCount !== rows.length) {
        updates.clear();
        domains.length = 0;
        batching = false;
        await db.query(`rollback to savepoint ${SAVEPOINT}`);
        await db.query(`release savepoint ${SAVEPOINT}`);
        throw new BatchRefused('a key of the batch was taken meanwhile');
      }
    }
    if (domains.length > 0) {
      const values = [domains.map((d) => d[0]), domains.map((d) => d[1]), domains.map((d) => d[2])];
      domains.length = 0;
      await db.query({ name: 'records_insert_domains', text: INSERT_DOMAINS, values });
    }
    if (updates.size > 0) {
      const rows = [...updates.values()];
      updates.clear();
      await db.query({
        name: 'records_update_docs',
        text: UPDATE_DOCS,
        values: updateColumns(rows),
      });
    }
  };

  /** A call that reads or writes what the batch holds must come after it. */
  const after =
    <A extends unknown[], R>(operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (batching) await flush();
      return operation(...args);
    };

  return {
    find: after(direct.find),
    findMany: after(direct.findMany),
    findByEmail: after(direct.findByEmail),
    findChildren: after(direct.findChildren),
    findListing: after(direct.findListing),
    companyByDomain: after(direct.companyByDomain),
    customFields: after(direct.customFields),
    update: after(direct.update),
    remove: after(direct.remove),
    setDomains: after(direct.setDomains),
    audit: after(direct.audit),
    // A key the upsert found free may only be taken by another transaction; that is
    // found when the batch is sent.
    async insert(row) {
      if (!batching) return direct.insert(row);
      inserts.set(rowKey(row), row);
      return undefined;
    },
    async updateDoc(row) {
      if (!batching) return direct.updateDoc(row);
      // A row the batch inserts goes in as last written; a stored one takes its last doc.
      const key = rowKey(row);
      if (inserts.has(key)) inserts.set(key, row);
      else updates.set(key, row);
    },
    async addDomains(workspaceId, companyId, list) {
      if (!batching) return direct.addDomains(workspaceId, companyId, list);
      for (const domain of uniqueDomains(list)) domains.push([workspaceId, companyId, domain]);
    },
    async beginBatch() {
      if (batching) await flush();
      else await db.query(`savepoint ${SAVEPOINT}`);
      batching = true;
      return true;
    },
    async endBatch() {
      if (!batching) return;
      await flush();
      batching = false;
      await db.query(`release savepoint ${SAVEPOINT}`);
    },
  };
}

function rowKey(row: RecordRow): string {
  return `${row.workspaceId}/${row.model}/${row.id}`;
}

function insertColumns(rows: readonly RecordRow[]): unknown[][] {
  return [
    rows.map((row) => row.workspaceId),
    rows.map((row) => row.model),
    rows.map((row) => row.id),
    rows.map((row) => row.externalId),
    rows.map((row) => row.sourceId),
    rows.map((row) => row.companyId),
    rows.map((row) => row.email),
    rows.map((row) => row.doc),
    rows.map((row) => row.createdAt),
    rows.map((row) => row.updatedAt),
    rows.map((row) => row.version),
  ];
}

function updateColumns(rows: readonly RecordRow[]): unknown[][] {
  return [
    rows.map((row) => row.workspaceId),
    rows.map((row) => row.model),
    rows.map((row) => row.id),
    rows.map((row) => row.doc),
    rows.map((row) => row.updatedAt),
    rows.map((row) => row.version),
  ];
}
