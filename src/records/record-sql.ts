import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Database } from '../db/database.js';
import type { Schema } from '../db/schema.js';
import { newObjectId } from './record-validation.js';
import {
  DuplicateKeyError,
  duplicateKeyOf,
  type RecordAuditEvent,
  type StoredCustomField,
} from './record-store.js';
import type { RecordFilter, RecordListQuery, RecordPageRow } from './record.repository.js';

/** SQL and row shapes both record storages share, and the list queries Kysely builds. */

export const ROW_COLUMNS = `workspace_id as "workspaceId", model, id,
  external_id as "externalId", source_id as "sourceId", company_id as "companyId", email, doc,
  created_at as "createdAt", updated_at as "updatedAt", version`;

export const INSERT_SQL = `insert into records
  (workspace_id, model, id, external_id, source_id, company_id, email, doc, created_at,
   updated_at, version)
  values (@workspaceId, @model, @id, @externalId, @sourceId, @companyId, @email, @doc,
   @createdAt, @updatedAt, @version)`;

export const UPDATE_SQL = `update records set external_id = @externalId, source_id = @sourceId,
  company_id = @companyId, email = @email, doc = @doc, updated_at = @updatedAt,
  version = @version
  where workspace_id = @workspaceId and model = @model and id = @id`;

/** Audit rows go in by this many per statement: 5,000 parameters, within both limits. */
export const AUDIT_BATCH = 500;

export function auditSql(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  return `insert into audit_events
    (id, workspace_id, at, actor_type, actor_id, actor_name, action, target_type, target_id,
     changes)
    values ${values.join(', ')}`;
}

export const UPDATE_DOC_SQL = `update records
  set doc = @doc, updated_at = @updatedAt, version = @version
  where workspace_id = @workspaceId and model = @model and id = @id`;

/** Appends an event's audit row to a multi-row insert's parameters, in `auditSql` order. */
export function pushAuditValues(values: unknown[], event: RecordAuditEvent): void {
  const { actor } = event;
  values.push(
    newObjectId(),
    event.workspaceId,
    event.at,
    actor.type,
    actor.id,
    actor.name,
    event.action,
    event.targetType,
    event.targetId,
    JSON.stringify(event.changes ?? {}),
  );
}

/** The parameters of `auditSql(events.length)`. */
export function auditValues(events: readonly RecordAuditEvent[]): unknown[] {
  const values: unknown[] = [];
  for (const event of events) pushAuditValues(values, event);
  return values;
}

export function toDefinitions(docs: readonly string[]): StoredCustomField[] {
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

export function uniqueDomains(domains: readonly string[]): string[] {
  return [...new Set(domains.map((domain) => domain.trim().toLowerCase()))].filter(
    (domain) => domain !== '',
  );
}

export function asDuplicateKey(error: unknown): unknown {
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

export async function listDocs(
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

export async function pageRows(
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
