import type { Actor } from '../auth/principal.js';
import { AppError, invalidField, notFound } from '../shared/errors.js';
import { findReadOnlyWrites, type FieldRules } from './field-rules.js';
import {
  getField,
  getModel,
  isRecordModelName,
  MODEL_DEFINITIONS,
  type CompanyReference,
  type JsonObject,
  type JsonValue,
  type ModelDefinition,
} from './model-catalogue.js';
import {
  call,
  DuplicateKeyError,
  type KeyLookup,
  type RecordAuditEvent,
  type RecordRow,
  type StoredCustomField,
  type UniqueKey,
  type Work,
} from './record-store.js';
import {
  mergeUpdate,
  newObjectId,
  parseRecordKey,
  validateCreate,
  validateUpdate,
  type RecordKey,
  type ValidationIssue,
} from './record-validation.js';

/**
 * The steps every record write shares, for single writes and bulk upserts alike: check
 * the body, resolve `extid-`/`srcid-` references, fill what the server derives, build
 * the stored document, write it and its audit event. They run as storage generators
 * (see record-store.ts), inside the caller's transaction.
 */

export interface WriteContext {
  readonly workspaceId: string;
  readonly actor: Actor;
  readonly model: ModelDefinition;
  readonly rules: FieldRules | undefined;
  readonly customFields: readonly StoredCustomField[];
  readonly now: string;
  /** References already resolved in this write, by model and key text. */
  readonly resolved: Map<string, ResolvedReference>;
  /** Audit events of the records written so far, for `flushAudits` to store. */
  readonly audits: RecordAuditEvent[];
}

interface ResolvedReference {
  readonly id: string;
  readonly name: string | undefined;
}

export interface PreparedRecord {
  readonly row: RecordRow;
  readonly doc: JsonObject;
  readonly ignoredFields: readonly string[];
}

export type PreparedUpdate =
  | (PreparedRecord & { readonly kind: 'changed'; readonly changed: readonly string[] })
  | (PreparedRecord & { readonly kind: 'unchanged' });

/** Fields every document carries, written by the server alone, in this order at the end. */
const SYSTEM_FIELDS = ['createdAt', 'updatedAt', 'createdBy', 'updatedBy', '__v'] as const;
const SYSTEM = new Set<string>(['_id', ...SYSTEM_FIELDS]);

/** Audit events of records name the model this way, apart from App Center's own objects. */
export function auditTargetType(model: ModelDefinition): string {
  return `record.${model.storedAs}`;
}

/** Whether a stored record is one the model sees: a ticket must be of type ticket. */
export function inScope(model: ModelDefinition, row: RecordRow): boolean {
  const scope = model.scope;
  if (scope === undefined) return true;
  const doc = JSON.parse(row.doc) as JsonObject;
  return doc[scope.field] === scope.value;
}

export type WriteBase = Pick<WriteContext, 'workspaceId' | 'actor' | 'model' | 'rules'>;

export function* loadContext(base: WriteBase): Work<WriteContext> {
  const customFields = yield* call('customFields', base.workspaceId);
  const now = new Date().toISOString();
  return { ...base, customFields, now, resolved: new Map(), audits: [] };
}

/**
 * Stores the audit events of the records written so far, in the same transaction as
 * the writes; every write ends with it. Holding them until then lets a bulk upsert
 * store thousands in a few statements, and a refused record never queued its event.
 */
export function* flushAudits(ctx: WriteContext): Work<void> {
  if (ctx.audits.length > 0) yield* call('audit', ctx.audits.splice(0));
}

export function validationError(errors: readonly ValidationIssue[]): AppError {
  const first = errors[0];
  return new AppError('validation_failed', {
    ...(first === undefined || first.field === '' ? {} : { field: first.field }),
    message: first?.message ?? 'The body is invalid',
    ...(errors.length > 1 ? { details: { errors } } : {}),
  });
}

/** A field the principal may read but not write, or may not see at all. */
function refuseReadOnly(ctx: WriteContext, value: JsonObject): void {
  const [field] = findReadOnlyWrites(value, ctx.rules);
  if (field === undefined) return;
  const permission = `${ctx.model.name}.${field}.write`;
  throw new AppError('validation_failed', {
    field,
    permission,
    message: `${field} cannot be written with this token (requires ${permission})`,
  });
}

function duplicateError(key: UniqueKey, model: ModelDefinition): AppError {
  const scope = key === 'externalId' && model.externalIdScope === 'company';
  const where = scope ? 'of the same company' : `of ${model.name}`;
  return invalidField(key, `duplicated: another record ${where} has it`);
}

/** The one record a key names; 404 when none, 400 when an externalId names several. */
export function* findByKey(ctx: WriteContext, key: RecordKey): Work<RecordRow> {
  const lookup = toLookup(key);
  const [row, other] =
    lookup === undefined ? [] : yield* call('find', ctx.workspaceId, ctx.model.storedAs, lookup);
  if (lookup === undefined || row === undefined || !inScope(ctx.model, row)) {
    throw notFound(ctx.model.name);
  }
  if (other !== undefined) throw ambiguous(lookup.kind);
  return row;
}

export function toLookup(key: RecordKey): KeyLookup | undefined {
  return key.kind === 'invalid' ? undefined : { kind: key.kind, value: key.value };
}

function ambiguous(kind: KeyLookup['kind']): AppError {
  const field = kind === 'sourceId' ? 'sourceId' : 'externalId';
  return invalidField(field, 'matches several records; address the record by _id');
}

/** Checks a body for a new record and builds its row; throws AppError. */
export function* prepareCreate(ctx: WriteContext, body: unknown): Work<PreparedRecord> {
  const result = validateCreate(ctx.model, body, ctx.customFields);
  if (!result.ok) throw validationError(result.errors);
  const value = result.value;
  refuseReadOnly(ctx, value);

  yield* resolveReferences(ctx, value);
  yield* matchCompanyByEmail(ctx, value);
  if (ctx.model.name === 'CustomField') checkDefinition(ctx, value, undefined);

  const id = newObjectId();
  const doc = arrange(id, value, {
    createdAt: ctx.now,
    updatedAt: ctx.now,
    createdBy: actorJson(ctx.actor),
    updatedBy: actorJson(ctx.actor),
    __v: 0,
  });
  const row = toRow(ctx, doc, { createdAt: ctx.now, version: 1 });
  return { row, doc, ignoredFields: result.ignoredFields };
}

/** Checks a partial body against a stored record and builds the merged row. */
export function* prepareUpdate(
  ctx: WriteContext,
  existing: RecordRow,
  body: unknown,
): Work<PreparedUpdate> {
  const result = validateUpdate(ctx.model, body, ctx.customFields);
  if (!result.ok) throw validationError(result.errors);
  const value = result.value;
  refuseReadOnly(ctx, value);
  yield* resolveReferences(ctx, value);

  const before = JSON.parse(existing.doc) as JsonObject;
  const merged = mergeUpdate(ctx.model, before, value);
  const changed = changedFields(before, merged);
  if (changed.length === 0) {
    return { kind: 'unchanged', row: existing, doc: before, ignoredFields: result.ignoredFields };
  }
  if (ctx.model.name === 'CustomField') checkDefinition(ctx, merged, existing.id);

  const doc = arrange(existing.id, merged, {
    createdAt: before.createdAt ?? existing.createdAt,
    updatedAt: ctx.now,
    createdBy: before.createdBy ?? null,
    updatedBy: actorJson(ctx.actor),
    __v: before.__v ?? 0,
  });
  const row = toRow(ctx, doc, { createdAt: existing.createdAt, version: existing.version + 1 });
  return { kind: 'changed', row, doc, changed, ignoredFields: result.ignoredFields };
}

/**
 * Inserts a prepared record and queues its audit event. The row goes first: it is the
 * only write that can be refused, and a refused one leaves nothing behind.
 */
export function* insertRecord(ctx: WriteContext, prepared: PreparedRecord): Work<void> {
  const { row, doc } = prepared;
  const taken = yield* call('insert', row);
  if (taken !== undefined) throw duplicateError(taken, ctx.model);
  if (ctx.model.name === 'Company') {
    const domains = stringList(doc.domains);
    if (domains.length > 0) yield* call('addDomains', ctx.workspaceId, row.id, domains);
  }
  const fields = Object.keys(doc).filter((key) => !SYSTEM.has(key));
  queueAudit(ctx, 'record.create', row.id, fields);
}

/**
 * Writes a changed record, then what follows from a company's new name or domains, and
 * queues its audit event. As for inserts, only the first write can be refused.
 */
export function* updateRecord(
  ctx: WriteContext,
  before: RecordRow,
  prepared: PreparedUpdate & { kind: 'changed' },
): Work<void> {
  const { row, doc, changed } = prepared;
  const isCompany = ctx.model.name === 'Company';
  const renamed =
    isCompany && changed.includes('name') && typeof doc.name === 'string'
      ? yield* renamedChildren(ctx, row.id, doc.name)
      : [];

  if (sameKeys(before, row)) {
    yield* call('updateDoc', row);
  } else {
    try {
      yield* call('update', row);
    } catch (error) {
      if (error instanceof DuplicateKeyError) throw duplicateError(error.key, ctx.model);
      throw error;
    }
  }
  if (isCompany && changed.includes('domains')) {
    yield* call('setDomains', ctx.workspaceId, row.id, stringList(doc.domains));
  }
  for (const child of renamed) yield* call('updateDoc', child);
  queueAudit(ctx, 'record.update', before.id, changed);
}

/**
 * Deletes a record. A company takes with it the records that cannot exist without it
 * (see `CompanyReference.dependent`), each with an audit event of its own.
 */
export function* deleteRecord(ctx: WriteContext, row: RecordRow): Work<void> {
  if (ctx.model.name === 'Company') {
    for (const child of yield* call('findChildren', ctx.workspaceId, row.id)) {
      const ref = isRecordModelName(child.model) ? getModel(child.model).companyRef : undefined;
      if (ref === undefined) continue;
      if (!ref.dependent) {
        yield* detachCompany(ctx, child, ref, row.id);
        continue;
      }
      yield* call('remove', ctx.workspaceId, child.model, child.id);
      ctx.audits.push({
        ...auditEvent(ctx, 'record.delete', child.id, []),
        targetType: `record.${child.model}`,
        changes: { fields: [], withCompany: row.id },
      });
    }
    // Records that list several companies keep no company column to find them by.
    for (const model of LISTS_COMPANIES) {
      const ref = model.companyRef;
      if (ref === undefined) continue;
      const listing = yield* call(
        'findListing',
        ctx.workspaceId,
        model.storedAs,
        ref.field,
        row.id,
      );
      for (const child of listing) yield* detachCompany(ctx, child, ref, row.id);
    }
  }
  yield* call('remove', ctx.workspaceId, ctx.model.storedAs, row.id);
  if (ctx.model.name === 'Company') yield* call('setDomains', ctx.workspaceId, row.id, []);
  queueAudit(ctx, 'record.delete', row.id, []);
}

/** The models whose records may name several companies, in a list. */
const LISTS_COMPANIES = MODEL_DEFINITIONS.filter((model) => model.companyRef?.many === true);

/**
 * A record that outlives a deleted company stops naming it: the id leaves a list of
 * companies, or a single reference (and the company name beside it) is cleared. The
 * change is attributed to whoever deleted the company, with an audit event of its own.
 */
function* detachCompany(
  ctx: WriteContext,
  child: RecordRow,
  ref: CompanyReference,
  companyId: string,
): Work<void> {
  const doc = JSON.parse(child.doc) as JsonObject;
  const fields: string[] = [];
  const current = doc[ref.field];
  if (ref.many) {
    if (!Array.isArray(current) || !current.includes(companyId)) return;
    doc[ref.field] = current.filter((id) => id !== companyId);
    fields.push(ref.field);
  } else {
    if (current !== companyId) return;
    delete doc[ref.field];
    fields.push(ref.field);
    if (ref.nameField !== undefined && Object.hasOwn(doc, ref.nameField)) {
      delete doc[ref.nameField];
      fields.push(ref.nameField);
    }
  }
  doc.updatedAt = ctx.now;
  doc.updatedBy = actorJson(ctx.actor);

  const after: RecordRow = {
    ...child,
    companyId: ref.many ? child.companyId : null,
    doc: JSON.stringify(doc),
    updatedAt: ctx.now,
    version: child.version + 1,
  };
  if (after.companyId === child.companyId) {
    yield* call('updateDoc', after);
  } else {
    try {
      yield* call('update', after);
    } catch (error) {
      // An externalId is unique among the records of one company and among those of
      // none: this record cannot join the latter while another there has its key.
      if (!(error instanceof DuplicateKeyError)) throw error;
      throw new AppError('conflict', {
        message: `A ${child.model} of this company has the externalId of one without a company`,
        cause: error,
      });
    }
  }
  ctx.audits.push({
    ...auditEvent(ctx, 'record.update', child.id, fields),
    targetType: `record.${child.model}`,
    changes: { fields, withCompany: companyId },
  });
}

function sameKeys(before: RecordRow, after: RecordRow): boolean {
  return (
    before.externalId === after.externalId &&
    before.sourceId === after.sourceId &&
    before.companyId === after.companyId &&
    before.email === after.email
  );
}

function queueAudit(
  ctx: WriteContext,
  action: string,
  targetId: string,
  fields: readonly string[],
): void {
  ctx.audits.push(auditEvent(ctx, action, targetId, fields));
}

function auditEvent(
  ctx: WriteContext,
  action: string,
  targetId: string,
  fields: readonly string[],
): RecordAuditEvent {
  return {
    workspaceId: ctx.workspaceId,
    actor: ctx.actor,
    action,
    targetType: auditTargetType(ctx.model),
    targetId,
    at: ctx.now,
    changes: { fields: [...fields] },
  };
}

/**
 * Child records keep their company's name beside its id (`companyName`, an invoice's
 * `cName`): the rows a company's new name changes, without audit events of their own.
 */
function* renamedChildren(ctx: WriteContext, companyId: string, name: string): Work<RecordRow[]> {
  const children = yield* call('findChildren', ctx.workspaceId, companyId);
  const renamed: RecordRow[] = [];
  for (const child of children) {
    const nameField = isRecordModelName(child.model)
      ? getModel(child.model).companyRef?.nameField
      : undefined;
    if (nameField === undefined) continue;
    const doc = JSON.parse(child.doc) as JsonObject;
    if (doc[nameField] === name) continue;
    doc[nameField] = name;
    renamed.push({ ...child, doc: JSON.stringify(doc), version: child.version + 1 });
  }
  return renamed;
}

/** `_id` first, the record's fields in their order, then the system fields. */
function arrange(id: string, fields: Readonly<JsonObject>, system: JsonObject): JsonObject {
  const doc: JsonObject = { _id: id };
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined && !SYSTEM.has(key)) doc[key] = value;
  }
  for (const key of SYSTEM_FIELDS) {
    const value = system[key];
    if (value !== undefined) doc[key] = value;
  }
  return doc;
}

function actorJson(actor: Actor): JsonObject {
  return { type: actor.type, id: actor.id, name: actor.name };
}

function toRow(
  ctx: WriteContext,
  doc: JsonObject,
  meta: { createdAt: string; version: number },
): RecordRow {
  const ref = ctx.model.companyRef;
  const companyId = ref !== undefined && !ref.many ? nonEmpty(doc[ref.field]) : null;
  const email = getField(ctx.model, 'email') === undefined ? null : nonEmpty(doc.email);
  return {
    workspaceId: ctx.workspaceId,
    model: ctx.model.storedAs,
    id: String(doc._id),
    externalId: nonEmpty(doc.externalId),
    sourceId: nonEmpty(doc.sourceId),
    companyId,
    email: email === null ? null : email.trim().toLowerCase(),
    doc: JSON.stringify(doc),
    createdAt: meta.createdAt,
    updatedAt: ctx.now,
    version: meta.version,
  };
}

function nonEmpty(value: JsonValue | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function stringList(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/**
 * The names of the fields whose values differ, with custom values named one by one
 * (`custom.Score`) so that history can hide the ones a reader may not see.
 */
function changedFields(before: Readonly<JsonObject>, after: Readonly<JsonObject>): string[] {
  const changed: string[] = [];
  for (const key of Object.keys(before)) addChange(changed, key, before[key], after[key]);
  for (const key of Object.keys(after)) {
    if (!Object.hasOwn(before, key)) addChange(changed, key, undefined, after[key]);
  }
  return changed;
}

function addChange(
  changed: string[],
  key: string,
  was: JsonValue | undefined,
  now: JsonValue | undefined,
): void {
  if (SYSTEM.has(key)) return;
  if (key === 'custom' && isObject(was) && isObject(now)) {
    for (const name of Object.keys(was)) {
      if (!sameJson(was[name], now[name])) changed.push(`custom.${name}`);
    }
    for (const name of Object.keys(now)) {
      if (!Object.hasOwn(was, name) && now[name] !== undefined) changed.push(`custom.${name}`);
    }
    return;
  }
  if (!sameJson(was, now)) changed.push(key);
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Company references are checked and replaced by ids; companyName follows the company. */
function* resolveReferences(ctx: WriteContext, value: JsonObject): Work<void> {
  const ref = ctx.model.companyRef;
  for (const field of Object.keys(value)) {
    const type = getField(ctx.model, field)?.type;
    const raw = value[field];
    if (raw === null || raw === undefined) continue;
    const target = field === 'campaignId' ? 'Campaign' : 'Company';

    if (type === 'reference' && typeof raw === 'string') {
      const found = yield* resolveReference(ctx, field, target, raw);
      value[field] = found.id;
      if (ref?.field === field && ref.nameField !== undefined && found.name !== undefined) {
        value[ref.nameField] = found.name;
      }
    } else if (type === 'reference[]' && Array.isArray(raw)) {
      const ids: string[] = [];
      for (const [index, item] of raw.entries()) {
        if (typeof item !== 'string') continue;
        const found = yield* resolveReference(ctx, `${field}[${index}]`, target, item);
        if (!ids.includes(found.id)) ids.push(found.id);
      }
      value[field] = ids;
    }
  }
}

/**
 * A reference to a company must name one that exists. Other references (an NPS
 * response's campaign) only have their `extid-`/`srcid-` keys resolved, since Planhat
 * does not require the record to exist.
 */
export function* resolveReference(
  ctx: WriteContext,
  field: string,
  target: 'Company' | 'Campaign',
  text: string,
): Work<ResolvedReference> {
  const cacheKey = `${target}:${text}`;
  const cached = ctx.resolved.get(cacheKey);
  if (cached !== undefined) return cached;

  const key = parseRecordKey(text, 'plain');
  if (key.kind === 'id' && target !== 'Company') return { id: key.value, name: undefined };
  const lookup = toLookup(key);
  if (lookup === undefined) {
    throw invalidField(field, 'must be an ObjectId, extid-<externalId> or srcid-<sourceId>');
  }
  const [row, other] = yield* call('find', ctx.workspaceId, target, lookup);
  const what = target.toLowerCase();
  if (row === undefined) throw invalidField(field, `names no ${what}`);
  if (other !== undefined) throw invalidField(field, `names several ${what} records`);

  const name = target === 'Company' ? (JSON.parse(row.doc) as JsonObject).name : undefined;
  const found = { id: row.id, name: typeof name === 'string' ? name : undefined };
  ctx.resolved.set(cacheKey, found);
  return found;
}

/**
 * A new end user without companyId joins the company whose domains hold its email's
 * domain; a new NPS response without cId takes the company of the end user with its
 * email, when exactly one end user has it.
 */
function* matchCompanyByEmail(ctx: WriteContext, value: JsonObject): Work<void> {
  const ref = ctx.model.companyRef;
  if (ref?.onCreate !== 'matchedByEmail' || typeof value.email !== 'string') return;
  const current = value[ref.field];
  if (current !== undefined && current !== null && current !== '') return;
  const email = value.email.trim().toLowerCase();

  if (ctx.model.name === 'EndUser') {
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const companyId = yield* call('companyByDomain', ctx.workspaceId, domain);
    if (companyId === undefined) {
      throw invalidField(ref.field, `is required: no company has the domain ${domain}`);
    }
    const found = yield* resolveReference(ctx, ref.field, 'Company', companyId);
    value[ref.field] = found.id;
    if (ref.nameField !== undefined && found.name !== undefined) {
      value[ref.nameField] = found.name;
    }
    return;
  }

  const [endUser, other] = yield* call('findByEmail', ctx.workspaceId, 'EndUser', email);
  if (endUser === undefined || other !== undefined || endUser.companyId === null) return;
  value[ref.field] = endUser.companyId;
  if (value.euId === undefined || value.euId === null) value.euId = endUser.id;
}

/** A custom field belongs to a model that has custom values, once per name. */
function checkDefinition(ctx: WriteContext, value: JsonObject, selfId: string | undefined): void {
  const parent = typeof value.parent === 'string' ? value.parent.trim() : '';
  const known = parent === '' ? undefined : findParentModel(parent);
  if (known === undefined) {
    throw invalidField('parent', 'must name a model with custom fields, such as Company');
  }
  const name = typeof value.name === 'string' ? value.name.trim() : '';
  const taken = ctx.customFields.some(
    (definition) =>
      definition.id !== selfId &&
      definition.model.trim().toLowerCase() === known.name.toLowerCase() &&
      definition.name.trim() === name,
  );
  if (taken) throw invalidField('name', `duplicated: ${known.name} already has this custom field`);
}

function findParentModel(parent: string): ModelDefinition | undefined {
  const lower = parent.toLowerCase();
  return MODEL_DEFINITIONS.find(
    (model) => model.name.toLowerCase() === lower && getField(model, 'custom')?.type === 'custom',
  );
}
