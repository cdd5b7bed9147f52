import type pg from 'pg';
import type { Database } from '../db/database.js';
import { PostgresRecordStorage } from './record-postgres.repository.js';
import { SqliteRecordStorage } from './record-sqlite.repository.js';
import type { KeyLookup, RecordRow, StoredCustomField, Work } from './record-store.js';

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
