import type { AuditEventInput } from '../audit/audit.repository.js';
import type { CustomFieldDefinition } from './record-validation.js';

/**
 * Record writes are written once, as generators that yield storage calls, and run by
 * one of two drivers: synchronously inside a single better-sqlite3 transaction (where
 * an `await` would let other requests' statements into the open transaction), or
 * asynchronously inside a PostgreSQL transaction. The write logic never knows which.
 *
 * One record's writes are atomic without a savepoint of their own: the record's row is
 * written first and is the only statement that can be refused (a taken unique key),
 * and a refused statement changes nothing while leaving the transaction usable. What
 * follows it (domains, children's copies of a company name) is never refused, and any
 * other failure aborts the whole write. So a bulk upsert never half-writes an item.
 */

/** An audit event of a record write, stamped with the write's time. */
export interface RecordAuditEvent extends AuditEventInput {
  readonly at: string;
}

/** A custom field definition as stored, with its record id. */
export interface StoredCustomField extends CustomFieldDefinition {
  readonly id: string;
}

/** One stored record, as the write logic and the readers see it. */
export interface RecordRow {
  workspaceId: string;
  model: string;
  id: string;
  externalId: string | null;
  sourceId: string | null;
  companyId: string | null;
  /** Trimmed and lower-cased. */
  email: string | null;
  /** The record as JSON text, exactly as it is served. */
  doc: string;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/**
 * How to find a record. An `externalId` lookup with `companyId` looks among that
 * company's records only (null: among records without a company); without it, among
 * every record of the model.
 */
export type KeyLookup =
  | { readonly kind: 'id'; readonly value: string }
  | { readonly kind: 'sourceId'; readonly value: string }
  | { readonly kind: 'externalId'; readonly value: string; readonly companyId?: string | null };

export type KeyKind = KeyLookup['kind'];

/** Every storage call a write may make, in its synchronous form. */
export interface RecordStoreOps {
  /** At most two matches: a second one means the key is ambiguous. */
  find(workspaceId: string, model: string, key: KeyLookup): RecordRow[];
  /**
   * Every record of the model whose key of this kind is one of the values, in one
   * statement: a bulk upsert reads the records its items name up front with it.
   */
  findMany(
    workspaceId: string,
    model: string,
    kind: KeyKind,
    values: readonly string[],
  ): RecordRow[];
  /** At most two matches, by trimmed lower-cased email. */
  findByEmail(workspaceId: string, model: string, email: string): RecordRow[];
  /** Every record, of any model, that belongs to the company. */
  findChildren(workspaceId: string, companyId: string): RecordRow[];
  /** Every record of the model whose list field holds the value; scans the model. */
  findListing(workspaceId: string, model: string, field: string, value: string): RecordRow[];
  /** The oldest company with this lower-cased email domain. */
  companyByDomain(workspaceId: string, domain: string): string | undefined;
  customFields(workspaceId: string): StoredCustomField[];
  /**
   * Inserts a row, or answers the unique key another record of the model already holds
   * and changes nothing. A taken key never leaves the transaction unusable.
   */
  insert(row: RecordRow): UniqueKey | undefined;
  /**
   * Replaces the stored row with the same primary key, keys included. Throws
   * DuplicateKeyError, having changed nothing, when a new key is taken; the transaction
   * stays usable (PostgreSQL wraps the statement in a savepoint for that).
   */
  update(row: RecordRow): void;
  /**
   * Replaces the document of a row whose keys stay as they are; never refused. Index
   * entries are left alone, which makes it much cheaper than `update`.
   */
  updateDoc(row: RecordRow): void;
  remove(workspaceId: string, model: string, id: string): void;
  /** Replaces a company's domains. */
  setDomains(workspaceId: string, companyId: string, domains: readonly string[]): void;
  /** Adds the domains of a new company; never refused. */
  addDomains(workspaceId: string, companyId: string, domains: readonly string[]): void;
  /** Audit events, written together at the end of a write. */
  audit(events: readonly RecordAuditEvent[]): void;
  /**
   * Starts a batch of bulk items. True when the store defers the batch's inserts and
   * document updates, to send them in a few statements before its next read or other
   * write and at `endBatch`. A deferred write that cannot be made (a key that another
   * transaction took meanwhile) undoes the whole batch, stops deferring and throws
   * BatchRefused; the caller then runs the batch again, each write sent on its own.
   */
  beginBatch(): boolean;
  /** Sends what the batch deferred; may throw BatchRefused. */
  endBatch(): void;
}

export type AsyncRecordStore = {
  [K in keyof RecordStoreOps]: (
    ...args: Parameters<RecordStoreOps[K]>
  ) => Promise<ReturnType<RecordStoreOps[K]>>;
};

export interface StoreCall {
  readonly op: keyof RecordStoreOps;
  readonly args: readonly unknown[];
}

/** A write: a generator of storage calls that returns T. */
export type Work<T> = Generator<StoreCall, T, unknown>;

/** Makes one storage call from inside a write: `const rows = yield* call('find', ...)`. */
export function* call<K extends keyof RecordStoreOps>(
  op: K,
  ...args: Parameters<RecordStoreOps[K]>
): Generator<StoreCall, ReturnType<RecordStoreOps[K]>, unknown> {
  // The driver answers each call with what the named operation returned.
  return (yield { op, args }) as ReturnType<RecordStoreOps[K]>;
}

type AnyOperation = (...args: readonly unknown[]) => unknown;

/** Runs a write to completion with synchronous storage; errors are thrown into it. */
export function runSync<T>(work: Work<T>, store: RecordStoreOps): T {
  let step = work.next();
  while (step.done !== true) {
    const { op, args } = step.value;
    let result: unknown;
    try {
      result = (store[op] as AnyOperation).call(store, ...args);
    } catch (error) {
      step = work.throw(error);
      continue;
    }
    step = work.next(result);
  }
  return step.value;
}

/** Runs a write to completion with asynchronous storage; errors are thrown into it. */
export async function runAsync<T>(work: Work<T>, store: AsyncRecordStore): Promise<T> {
  let step = work.next();
  while (step.done !== true) {
    const { op, args } = step.value;
    let result: unknown;
    try {
      result = await (store[op] as AnyOperation).call(store, ...args);
    } catch (error) {
      step = work.throw(error);
      continue;
    }
    step = work.next(result);
  }
  return step.value;
}

/** A batch's deferred writes could not all be made; the batch left nothing behind. */
export class BatchRefused extends Error {
  override name = 'BatchRefused';
}

export type UniqueKey = 'externalId' | 'sourceId' | '_id';

/** A write collided with a unique key that another record of the model holds. */
export class DuplicateKeyError extends Error {
  override name = 'DuplicateKeyError';

  constructor(
    readonly key: UniqueKey,
    options?: { cause?: unknown },
  ) {
    super(`another record has this ${key}`, options);
  }
}

/** Reads which unique key a driver's constraint error names, from its message or name. */
export function duplicateKeyOf(text: string): UniqueKey {
  if (text.includes('external_id')) return 'externalId';
  if (text.includes('source_id')) return 'sourceId';
  return '_id';
}
