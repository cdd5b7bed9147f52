import { listAudit } from '../audit/audit.repository.js';
import type { Principal } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requirePermission } from '../permissions/authorize.js';
import { can, type Model } from '../permissions/permission-set.js';
import { AppError, invalidField, notFound } from '../shared/errors.js';
import { bulkUpsert, MAX_BULK_ITEMS, type UpsertResult } from './bulk-upsert.js';
import { isHidden, redactHidden, type FieldRules } from './field-rules.js';
import type { ModelDefinition } from './model-catalogue.js';
import {
  openRecordStorage,
  type RecordFilter,
  type RecordSort,
  type RecordStorage,
} from './record.repository.js';
import {
  applySelect,
  parseListQuery,
  parseRecordKey,
  type ListQuery,
  type RecordKey,
} from './record-validation.js';
import {
  auditTargetType,
  deleteRecord,
  findByKey,
  flushAudits,
  insertRecord,
  loadContext,
  prepareCreate,
  prepareUpdate,
  toLookup,
  updateRecord,
  validationError,
  type WriteBase,
} from './record-writes.js';

/** What a write answers: the record as the principal may see it, and what was ignored. */
export interface WriteResult {
  /** JSON text of the record. */
  json: string;
  ignoredFields: readonly string[];
}

/** A list query checked against the principal's field rules, in storage terms. */
export interface PlannedQuery {
  readonly query: ListQuery;
  readonly filters: readonly RecordFilter[];
  readonly sort: RecordSort;
  /** Nothing can match: a companyId filter named no existing company. */
  readonly empty: boolean;
}

export interface HistoryEvent {
  _id: string;
  at: string;
  action: 'create' | 'update' | 'delete' | string;
  actor: { type: string; id: string; name: string };
  fields: string[];
}

export const DELETE_ANSWER = '{"n":1,"ok":1,"deletedCount":1}';

const MAX_HISTORY = 1_000;

/** The principal's field rules for a model; undefined when it has none. */
export function rulesFor(principal: Principal, model: ModelDefinition): FieldRules | undefined {
  return principal.permissions.fields[model.name as Model];
}

/** Whether any rule hides something, so that reads must redact. */
export function hidesFields(rules: FieldRules | undefined): boolean {
  if (rules === undefined) return false;
  for (const field of Object.keys(rules)) if (isHidden(field, rules)) return true;
  return false;
}

/** The stored JSON text as the principal may see it: as is, unless rules hide fields. */
export function renderDoc(doc: string, rules: FieldRules | undefined): string {
  if (!hidesFields(rules)) return doc;
  return JSON.stringify(redactHidden(JSON.parse(doc) as Record<string, unknown>, rules));
}

/**
 * Records of every model, as a principal reads and writes them: permissions first, then
 * validation, then storage, with an audit event in the same transaction as each change.
 */
export class RecordService {
  readonly storage: RecordStorage;

  constructor(readonly database: Database) {
    this.storage = openRecordStorage(database);
  }

  /** JSON text of one record; another workspace's record is not found, like a missing one. */
  async read(principal: Principal, model: ModelDefinition, keyText: string): Promise<string> {
    requirePermission(principal, model.name as Model, 'view');
    const key = parseRecordKey(keyText, 'plain');
    const rules = rulesFor(principal, model);
    if (key.kind === 'id') {
      const doc = await this.storage.docById(principal.workspaceId, model.storedAs, key.value);
      if (doc === undefined) throw notFound(model.name);
      return renderDoc(doc, rules);
    }
    const lookup = toLookup(key);
    if (lookup === undefined) throw notFound(model.name);
    const [row, other] = await this.storage.find(principal.workspaceId, model.storedAs, lookup);
    if (row === undefined) throw notFound(model.name);
    if (other !== undefined) {
      throw invalidField(lookup.kind, 'matches several records; address the record by _id');
    }
    return renderDoc(row.doc, rules);
  }

  async create(principal: Principal, model: ModelDefinition, body: unknown): Promise<WriteResult> {
    requirePermission(principal, model.name as Model, 'create');
    const rules = rulesFor(principal, model);
    const prepared = await this.storage.write(function* () {
      const ctx = yield* loadContext(writeBase(principal, model, rules));
      const record = yield* prepareCreate(ctx, body);
      yield* insertRecord(ctx, record);
      yield* flushAudits(ctx);
      return record;
    });
    return { json: renderDoc(prepared.row.doc, rules), ignoredFields: prepared.ignoredFields };
  }

  /** A partial update: only the fields in the body change; custom values merge. */
  async update(
    principal: Principal,
    model: ModelDefinition,
    keyText: string,
    body: unknown,
  ): Promise<WriteResult> {
    requirePermission(principal, model.name as Model, 'update');
    const rules = rulesFor(principal, model);
    const key = parseRecordKey(keyText, 'plain');
    const prepared = await this.storage.write(function* () {
      const ctx = yield* loadContext(writeBase(principal, model, rules));
      const existing = yield* findByKey(ctx, key);
      const change = yield* prepareUpdate(ctx, existing, body);
      if (change.kind === 'changed') yield* updateRecord(ctx, existing, change);
      yield* flushAudits(ctx);
      return change;
    });
    return { json: renderDoc(prepared.row.doc, rules), ignoredFields: prepared.ignoredFields };
  }

  async remove(principal: Principal, model: ModelDefinition, keyText: string): Promise<void> {
    requirePermission(principal, model.name as Model, 'remove');
    const key = parseRecordKey(keyText, 'plain');
    await this.storage.write(function* () {
      const ctx = yield* loadContext(writeBase(principal, model, undefined));
      const existing = yield* findByKey(ctx, key);
      yield* deleteRecord(ctx, existing);
      yield* flushAudits(ctx);
    });
  }

  /** `PUT /{model}` with an array: each item created or updated on its own. */
  async bulkUpsert(
    principal: Principal,
    model: ModelDefinition,
    body: unknown,
  ): Promise<UpsertResult> {
    if (!Array.isArray(body)) {
      throw new AppError('validation_failed', {
        message: 'A bulk upsert takes a JSON array of records',
      });
    }
    if (body.length > MAX_BULK_ITEMS) {
      throw new AppError('validation_failed', {
        message: `A bulk upsert takes at most ${MAX_BULK_ITEMS} items; split the array`,
      });
    }
    const permissionModel = model.name as Model;
    const grants = {
      create: can(principal.permissions, permissionModel, 'create'),
      update: can(principal.permissions, permissionModel, 'update'),
    };
    const rules = rulesFor(principal, model);
    const items: readonly unknown[] = body;
    return this.storage.write(function* () {
      const ctx = yield* loadContext(writeBase(principal, model, rules));
      return yield* bulkUpsert(ctx, items, grants);
    });
  }

  /** A bare JSON array of the records the query selects. */
  async list(
    principal: Principal,
    model: ModelDefinition,
    rawQuery: unknown,
    view: 'full' | 'lean' = 'full',
  ): Promise<string> {
    requirePermission(principal, model.name as Model, 'view');
    const rules = rulesFor(principal, model);
    const plan = await this.planQuery(principal, model, rawQuery, view);
    if (plan.empty) return '[]';

    const { query } = plan;
    const docs = await this.storage.list(principal.workspaceId, model.storedAs, {
      filters: plan.filters,
      sort: plan.sort,
      limit: query.limit,
      offset: query.offset,
    });
    const redact = hidesFields(rules);
    if (query.select === undefined && !redact) return `[${docs.join(',')}]`;
    const records = docs.map((doc) => {
      const parsed = JSON.parse(doc) as Record<string, unknown>;
      return applySelect(redact ? redactHidden(parsed, rules) : parsed, query.select);
    });
    return JSON.stringify(records);
  }

  /**
   * Reads a list query and checks it against field rules: hidden fields are never
   * returned, and sorting or filtering on one is refused like sorting on an unknown field.
   */
  async planQuery(
    principal: Principal,
    model: ModelDefinition,
    rawQuery: unknown,
    view: 'full' | 'lean' = 'full',
  ): Promise<PlannedQuery> {
    // The router's query object has no ordinary prototype; validation wants a plain one.
    const plain = typeof rawQuery === 'object' && rawQuery !== null ? { ...rawQuery } : {};
    const parsed = parseListQuery(model, plain, { view });
    if (!parsed.ok) throw validationError(parsed.errors);
    const rules = rulesFor(principal, model);
    const query = parsed.value;

    const sortField = query.sort.field;
    if (isHidden(sortField, rules)) {
      throw invalidField('sort', `must name a field of ${model.name}`);
    }
    const select = query.select?.filter((field) => !isHidden(field, rules));

    // A model that sees part of the stored records (tickets among conversations) always
    // filters on what sets that part apart.
    const filters: RecordFilter[] =
      model.scope === undefined
        ? []
        : [{ kind: 'field', field: model.scope.field, values: [model.scope.value] }];
    let empty = false;
    for (const filter of query.filters) {
      if (isHidden(filter.field, rules)) {
        throw invalidField(filter.param, 'filters on a field this token cannot read');
      }
      if (filter.param === 'companyId') {
        const ids = await this.companyIds(principal.workspaceId, filter.values);
        if (ids.length === 0) empty = true;
        filters.push(companyFilter(model, ids));
        continue;
      }
      filters.push(storageFilter(filter.param, filter.field, filter.values));
    }

    return {
      query: { ...query, select },
      filters,
      sort: storageSort(query.sort.field, query.sort.direction),
      empty,
    };
  }

  /** The ids of the companies that keys name; keys that name none are left out. */
  private async companyIds(workspaceId: string, keys: readonly string[]): Promise<string[]> {
    const ids = new Set<string>();
    for (const text of keys) {
      const key = parseRecordKey(text, 'plain');
      if (key.kind === 'id') {
        ids.add(key.value);
        continue;
      }
      const lookup = toLookup(key);
      if (lookup === undefined) continue;
      for (const row of await this.storage.find(workspaceId, 'Company', lookup)) ids.add(row.id);
    }
    return [...ids];
  }

  /** Audit events of one record, newest first, also after it was deleted. */
  async history(
    principal: Principal,
    model: ModelDefinition,
    keyText: string,
    limit = 100,
  ): Promise<HistoryEvent[]> {
    requirePermission(principal, model.name as Model, 'view');
    const key = parseRecordKey(keyText, 'plain');
    const { id, exists } = await this.findForHistory(principal, model, key);
    const events = await listAudit(this.database.db, principal.workspaceId, {
      targetType: auditTargetType(model),
      targetId: id,
      limit: Math.min(Math.max(limit, 1), MAX_HISTORY),
    });
    if (!exists && events.length === 0) throw notFound(model.name);

    const rules = rulesFor(principal, model);
    return events.map((event) => {
      const fields = Array.isArray(event.changes.fields) ? event.changes.fields : [];
      return {
        _id: event.id,
        at: event.at,
        action: event.action.replace(/^record\./, ''),
        actor: event.actor,
        fields: fields.filter(
          (field): field is string => typeof field === 'string' && !isHidden(field, rules),
        ),
      };
    });
  }

  private async findForHistory(
    principal: Principal,
    model: ModelDefinition,
    key: RecordKey,
  ): Promise<{ id: string; exists: boolean }> {
    const { workspaceId } = principal;
    // A deleted record keeps its history under its _id.
    if (key.kind === 'id') {
      const doc = await this.storage.docById(workspaceId, model.storedAs, key.value);
      return { id: key.value, exists: doc !== undefined };
    }
    const lookup = toLookup(key);
    if (lookup === undefined) throw notFound(model.name);
    const [row, other] = await this.storage.find(workspaceId, model.storedAs, lookup);
    if (row === undefined) throw notFound(model.name);
    if (other !== undefined) {
      throw invalidField(lookup.kind, 'matches several records; address the record by _id');
    }
    return { id: row.id, exists: true };
  }
}

function writeBase(
  principal: Principal,
  model: ModelDefinition,
  rules: FieldRules | undefined,
): WriteBase {
  return { workspaceId: principal.workspaceId, actor: principal.actor, model, rules };
}

function companyFilter(model: ModelDefinition, ids: readonly string[]): RecordFilter {
  const ref = model.companyRef;
  if (ref === undefined) return { kind: 'column', column: 'id', values: ids };
  if (ref.many) return { kind: 'contains', field: ref.field, values: ids };
  return { kind: 'column', column: 'company_id', values: ids };
}

function storageFilter(param: string, field: string, values: readonly string[]): RecordFilter {
  switch (param) {
    case 'email':
      return {
        kind: 'column',
        column: 'email',
        values: values.map((value) => value.trim().toLowerCase()),
      };
    case 'externalId':
      return { kind: 'column', column: 'external_id', values };
    case 'sourceId':
      return { kind: 'column', column: 'source_id', values };
    default:
      return { kind: 'field', field, values };
  }
}

function storageSort(field: string, direction: 'asc' | 'desc'): RecordSort {
  if (field === '_id') return { column: 'id', direction };
  if (field === 'createdAt') return { column: 'created_at', direction };
  if (field === 'updatedAt') return { column: 'updated_at', direction };
  if (field.startsWith('custom.')) {
    const name = field.slice('custom.'.length);
    // A leading `$` would read as a JSON path on SQLite rather than as a name.
    if (name.startsWith('$')) throw invalidField('sort', 'must name a field of the model');
    return { path: ['custom', name], direction };
  }
  return { path: [field], direction };
}
