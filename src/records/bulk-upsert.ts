import { AppError, invalidField, missingPermission } from '../shared/errors.js';
import type { ModelDefinition } from './model-catalogue.js';
import { BatchRefused, call, type KeyKind, type RecordRow, type Work } from './record-store.js';
import { parseRecordKey } from './record-validation.js';
import {
  flushAudits,
  inScope,
  insertRecord,
  prepareCreate,
  prepareUpdate,
  resolveReference,
  updateRecord,
  type WriteContext,
} from './record-writes.js';

/** Planhat's cap on the items of one bulk upsert, whatever the model. */
export const MAX_BULK_ITEMS = 5_000;

/**
 * Items per batch. Each batch's audit events are stored as it ends, in the same
 * transaction: holding thousands until the end would keep them alive for nothing.
 */
const AUDIT_BATCH = 500;

/** Why one item was refused, and the item as it was sent. */
export interface UpsertErrorItem {
  index: number;
  item: unknown;
  error: string;
  field?: string;
  permission?: string;
}

export interface UpsertKeys {
  _id: string;
  externalId?: string;
  sourceId?: string;
}

/** The answer of `PUT /{model}`, with Planhat's keys. */
export interface UpsertReport {
  created: number;
  createdErrors: UpsertErrorItem[];
  insertsKeys: UpsertKeys[];
  updated: number;
  updatedErrors: UpsertErrorItem[];
  /** Every matched item, changed or not, so that clients can map their keys to `_id`. */
  updatesKeys: UpsertKeys[];
  /** Matched items that changed nothing. */
  nonupdates: number;
  /** Ids of the records the upsert changed. */
  modified: string[];
  /** Ids of the records the upsert created. */
  upsertedIds: string[];
  permissionErrors: UpsertErrorItem[];
}

export interface UpsertResult {
  /** 200 all done, 206 some refused, 403 none done and some forbidden, 400 none done. */
  status: 200 | 206 | 400 | 403;
  report: UpsertReport;
  ignoredFields: string[];
}

export interface UpsertGrants {
  create: boolean;
  update: boolean;
}

/**
 * Inserts the items that match no record and updates the ones that do, item by item,
 * in one transaction. A refused item leaves nothing behind (see record-store.ts) and
 * never stops the others.
 *
 * Items go by batches of AUDIT_BATCH. A store may defer a batch's writes to send them
 * in a few statements (see `beginBatch`); when it cannot write them all, it undoes the
 * batch, and the batch runs again with each write sent on its own, so that the item
 * whose key was taken meanwhile is refused alone.
 */
export function* bulkUpsert(
  ctx: WriteContext,
  items: readonly unknown[],
  grants: UpsertGrants,
): Work<UpsertResult> {
  const state: UpsertState = {
    report: emptyReport(),
    ignored: new Set<string>(),
    known: yield* readNamedRecords(ctx, items),
  };

  for (let start = 0; start < items.length; start += AUDIT_BATCH) {
    const end = Math.min(start + AUDIT_BATCH, items.length);
    const deferred = yield* call('beginBatch');
    const saved = deferred ? saveState(ctx, state) : undefined;
    try {
      for (let index = start; index < end; index++) {
        yield* upsertItem(ctx, state, items[index], index, grants);
      }
      if (deferred) yield* call('endBatch');
    } catch (error) {
      if (!(error instanceof BatchRefused) || saved === undefined) throw error;
      restoreState(ctx, state, saved);
      for (let index = start; index < end; index++) {
        yield* upsertItem(ctx, state, items[index], index, grants);
      }
    }
    yield* flushAudits(ctx);
  }

  const { report, ignored } = state;
  // Bulk items name their record by `_id`; that is a key, not an ignored field.
  ignored.delete('_id');
  return { status: statusOf(report), report, ignoredFields: [...ignored] };
}

/** What an upsert has built so far: its report, and the records its items name. */
interface UpsertState {
  report: UpsertReport;
  ignored: Set<string>;
  known: NamedRecords;
}

/** One item, created or updated or refused, its outcome in the report. */
function* upsertItem(
  ctx: WriteContext,
  state: UpsertState,
  item: unknown,
  index: number,
  grants: UpsertGrants,
): Work<void> {
  const { report, ignored, known } = state;
  let phase: 'create' | 'update' = 'create';
  try {
    if (!isPlainObject(item)) {
      throw new AppError('validation_failed', { message: 'The item must be a JSON object' });
    }
    const found = yield* matchItem(ctx, item, known);
    if (found.kind === 'ambiguous') {
      phase = 'update';
      throw invalidField(found.key, 'matches several records; send their _id');
    }
    if (found.kind === 'outOfScope') {
      phase = 'update';
      const scope = ctx.model.scope;
      const what = scope === undefined ? '' : ` whose ${scope.field} is not ${scope.value}`;
      throw invalidField(found.key, `names a ${ctx.model.storedAs}${what}`);
    }

    if (found.kind === 'new') {
      if (!grants.create) throw missingPermission(`${ctx.model.name}.create`);
      const prepared = yield* prepareCreate(ctx, item);
      yield* insertRecord(ctx, prepared);
      known.remember(undefined, prepared.row);
      report.created += 1;
      report.insertsKeys.push(keysOf(prepared.row, item));
      report.upsertedIds.push(prepared.row.id);
      for (const field of prepared.ignoredFields) ignored.add(field);
      return;
    }

    phase = 'update';
    const match = found.row;
    if (!grants.update) throw missingPermission(`${ctx.model.name}.update`);
    const prepared = yield* prepareUpdate(ctx, match, item);
    for (const field of prepared.ignoredFields) ignored.add(field);
    report.updatesKeys.push(keysOf(prepared.row, item));
    if (prepared.kind === 'unchanged') {
      report.nonupdates += 1;
      return;
    }
    yield* updateRecord(ctx, match, prepared);
    known.remember(match, prepared.row);
    report.updated += 1;
    report.modified.push(prepared.row.id);
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const entry: UpsertErrorItem = {
      index,
      item,
      error: error.message,
      ...(error.field === undefined ? {} : { field: error.field }),
      ...(error.permission === undefined ? {} : { permission: error.permission }),
    };
    if (error.permission !== undefined) report.permissionErrors.push(entry);
    else if (phase === 'create') report.createdErrors.push(entry);
    else report.updatedErrors.push(entry);
  }
}

/** The upsert as a batch found it, to start the batch again from. */
interface SavedState {
  readonly counts: Pick<UpsertReport, 'created' | 'updated' | 'nonupdates'>;
  readonly lengths: ReadonlyMap<ReportList, number>;
  readonly ignored: ReadonlySet<string>;
  readonly known: NamedRecords;
  readonly resolved: WriteContext['resolved'];
  readonly audits: number;
}

type ReportList = {
  [K in keyof UpsertReport]: UpsertReport[K] extends unknown[] ? K : never;
}[keyof UpsertReport];

const REPORT_LISTS: readonly ReportList[] = [
  'createdErrors',
  'insertsKeys',
  'updatedErrors',
  'updatesKeys',
  'modified',
  'upsertedIds',
  'permissionErrors',
];

function saveState(ctx: WriteContext, state: UpsertState): SavedState {
  const { report } = state;
  return {
    counts: { created: report.created, updated: report.updated, nonupdates: report.nonupdates },
    lengths: new Map(REPORT_LISTS.map((list) => [list, report[list].length])),
    ignored: new Set(state.ignored),
    known: state.known.copy(),
    resolved: new Map(ctx.resolved),
    audits: ctx.audits.length,
  };
}

function restoreState(ctx: WriteContext, state: UpsertState, saved: SavedState): void {
  const { report } = state;
  Object.assign(report, saved.counts);
  for (const [list, length] of saved.lengths) report[list].length = length;
  state.ignored = new Set(saved.ignored);
  state.known = saved.known.copy();
  ctx.resolved.clear();
  for (const [key, value] of saved.resolved) ctx.resolved.set(key, value);
  ctx.audits.length = saved.audits;
}

/**
 * The stored record an item names, trying the model's keys in order: `_id`, then
 * `sourceId`, then `externalId` (within the item's company for child models), then an
 * end user's email when exactly one end user has it. None: the item is new. A key that
 * matches several records is refused, as an update, and so is one that matches a
 * stored record this model does not see (a conversation that is not a ticket).
 */
type Match =
  | { readonly kind: 'new' }
  | { readonly kind: 'match'; readonly row: RecordRow }
  | { readonly kind: 'ambiguous'; readonly key: string }
  | { readonly kind: 'outOfScope'; readonly key: string };

function* matchItem(
  ctx: WriteContext,
  item: Record<string, unknown>,
  known: NamedRecords,
): Work<Match> {
  const { model, workspaceId } = ctx;
  for (const key of model.upsertKeys) {
    const raw = item[key];
    if (raw === undefined || raw === null || raw === '') continue;
    if (typeof raw !== 'string') {
      if (key === '_id') throw invalidField('_id', 'must be an ObjectId');
      continue;
    }

    let rows: RecordRow[];
    if (key === '_id') {
      const parsed = parseRecordKey(raw, 'plain');
      if (parsed.kind !== 'id') throw invalidField('_id', 'must be an ObjectId');
      rows = known.find('id', parsed.value);
    } else if (key === 'sourceId') {
      rows = known.find('sourceId', raw);
    } else if (key === 'externalId') {
      const companyId = yield* itemCompany(ctx, model, item);
      const all = known.find('externalId', raw);
      rows =
        companyId === undefined ? all : all.filter((row) => (row.companyId ?? '') === companyId);
    } else if (key === 'email') {
      rows = yield* call('findByEmail', workspaceId, model.storedAs, raw.trim().toLowerCase());
      // An email shared by several records is no key.
      const [row, other] = rows;
      if (row !== undefined && other === undefined) return { kind: 'match', row };
      continue;
    } else {
      continue;
    }

    const [row, other] = rows;
    if (other !== undefined) return { kind: 'ambiguous', key };
    if (row !== undefined && !inScope(model, row)) return { kind: 'outOfScope', key };
    if (row !== undefined) return { kind: 'match', row };
  }
  return { kind: 'new' };
}

const KEY_FIELDS: Readonly<Record<KeyKind, string>> = {
  id: '_id',
  sourceId: 'sourceId',
  externalId: 'externalId',
};

/**
 * The stored records that an upsert's items name by `_id`, `sourceId` or `externalId`,
 * read with one statement per key kind rather than one per item, and kept current as
 * the upsert writes: an item sees what the items before it created or changed.
 */
class NamedRecords {
  private readonly byKind = new Map<KeyKind, Map<string, RecordRow[]>>();

  constructor(
    rows: ReadonlyMap<KeyKind, readonly string[]>,
    found: ReadonlyMap<KeyKind, readonly RecordRow[]>,
  ) {
    for (const [kind, values] of rows) {
      const index = new Map<string, RecordRow[]>(values.map((value) => [value, []]));
      for (const row of found.get(kind) ?? []) index.get(keyOf(row, kind) ?? '')?.push(row);
      this.byKind.set(kind, index);
    }
  }

  /** An independent copy, for a batch that may have to start again. */
  copy(): NamedRecords {
    const copy = new NamedRecords(new Map(), new Map());
    for (const [kind, index] of this.byKind) {
      copy.byKind.set(kind, new Map([...index].map(([value, rows]) => [value, [...rows]])));
    }
    return copy;
  }

  /** The records whose key of this kind is the value; every value was read up front. */
  find(kind: KeyKind, value: string): RecordRow[] {
    return this.byKind.get(kind)?.get(value) ?? [];
  }

  /** A record was written: `before` as it was (none for a new one), `after` as it is. */
  remember(before: RecordRow | undefined, after: RecordRow): void {
    for (const [kind, index] of this.byKind) {
      const old = before === undefined ? undefined : keyOf(before, kind);
      const list = old === undefined ? undefined : index.get(old);
      const at = list === undefined ? -1 : list.findIndex((row) => row.id === after.id);
      const now = keyOf(after, kind);
      // Most updates keep their keys: the record takes its own place in the list.
      if (list !== undefined && at >= 0 && old === now) {
        list[at] = after;
        continue;
      }
      if (list !== undefined && at >= 0) list.splice(at, 1);
      const target = now === undefined ? undefined : index.get(now);
      target?.push(after);
    }
  }
}

function keyOf(row: RecordRow, kind: KeyKind): string | undefined {
  const value = kind === 'id' ? row.id : kind === 'sourceId' ? row.sourceId : row.externalId;
  return value ?? undefined;
}

/** Reads every record the items name by one of the model's keys, email aside. */
function* readNamedRecords(ctx: WriteContext, items: readonly unknown[]): Work<NamedRecords> {
  const values = new Map<KeyKind, string[]>();
  for (const kind of ['id', 'sourceId', 'externalId'] as const) {
    if (!ctx.model.upsertKeys.includes(KEY_FIELDS[kind])) continue;
    const named = new Set<string>();
    for (const item of items) {
      if (!isPlainObject(item)) continue;
      const raw = item[KEY_FIELDS[kind]];
      if (typeof raw !== 'string' || raw === '') continue;
      // Ids match whatever their case, as parseRecordKey reads them.
      named.add(kind === 'id' ? raw.toLowerCase() : raw);
    }
    values.set(kind, [...named]);
  }
  const found = new Map<KeyKind, RecordRow[]>();
  for (const [kind, list] of values) {
    if (list.length === 0) continue;
    found.set(kind, yield* call('findMany', ctx.workspaceId, ctx.model.storedAs, kind, list));
  }
  return new NamedRecords(values, found);
}

/** The company whose records an item's externalId is unique among, when it names one. */
function* itemCompany(
  ctx: WriteContext,
  model: ModelDefinition,
  item: Record<string, unknown>,
): Work<string | undefined> {
  const ref = model.companyRef;
  if (model.externalIdScope !== 'company' || ref === undefined) return undefined;
  const raw = item[ref.field];
  if (typeof raw !== 'string' || raw === '') return undefined;
  const found = yield* resolveReference(ctx, ref.field, 'Company', raw);
  return found.id;
}

function keysOf(row: RecordRow, item: Record<string, unknown>): UpsertKeys {
  const keys: UpsertKeys = { _id: row.id };
  if (item.externalId !== undefined && row.externalId !== null) keys.externalId = row.externalId;
  if (item.sourceId !== undefined && row.sourceId !== null) keys.sourceId = row.sourceId;
  return keys;
}

function statusOf(report: UpsertReport): UpsertResult['status'] {
  const refused =
    report.createdErrors.length + report.updatedErrors.length + report.permissionErrors.length;
  if (refused === 0) return 200;
  if (report.created + report.updated + report.nonupdates > 0) return 206;
  return report.permissionErrors.length > 0 ? 403 : 400;
}

export function emptyReport(): UpsertReport {
  return {
    created: 0,
    createdErrors: [],
    insertsKeys: [],
    updated: 0,
    updatedErrors: [],
    updatesKeys: [],
    nonupdates: 0,
    modified: [],
    upsertedIds: [],
    permissionErrors: [],
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
