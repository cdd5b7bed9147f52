import type { Static } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal.js';
import type { Schema } from '../db/schema.js';
import { requirePermission } from '../permissions/authorize.js';
import { invalidField } from '../shared/errors.js';
import {
  listActivities,
  listMetrics,
  type ActivityQuery,
  type MetricQuery,
  type StoredActivity,
  type StoredMetric,
} from './analytics.repository.js';
import type {
  DimensionDataQuery,
  DimensionDataSchema,
  UserActivityQuery,
  UserActivitySchema,
} from './analytics.schemas.js';
import type { LinkedRecords } from './linked-records.repository.js';
import { PayloadFieldError, readDate } from './payload-fields.js';

export const DEFAULT_LIMIT = 100;
export const MAX_METRIC_LIMIT = 10_000;
export const MAX_ACTIVITY_LIMIT = 5_000;

const EXTERNAL_ID_PREFIX = 'extid-';
const SOURCE_ID_PREFIX = 'srcid-';

type DimensionData = Static<typeof DimensionDataSchema>;
type UserActivity = Static<typeof UserActivitySchema>;

/** Stored custom-metric values, oldest first, for a principal with DimensionData.view. */
export async function findDimensionData(
  db: Kysely<Schema>,
  records: LinkedRecords,
  principal: Principal,
  params: Static<typeof DimensionDataQuery>,
): Promise<DimensionData[]> {
  requirePermission(principal, 'DimensionData', 'view');

  const company = await byKey(records, principal.workspaceId, 'Company', params.cId);
  if (company === undefined) return [];

  const query: MetricQuery = {
    ...keyFilter(company, 'companyId', 'companyExternalId'),
    ...(params.dimid === undefined ? {} : { dimensionId: params.dimid }),
    ...(params.from === undefined ? {} : { fromDay: params.from }),
    ...(params.to === undefined ? {} : { toDay: params.to }),
    limit: Math.min(params.limit ?? DEFAULT_LIMIT, MAX_METRIC_LIMIT),
    offset: params.offset ?? 0,
  };
  const rows = await listMetrics(db, principal.workspaceId, query);
  const companyIds = new Set(
    rows.flatMap((row) => (row.companyId === null ? [] : [row.companyId])),
  );
  const names = await records.companyNames(principal.workspaceId, [...companyIds]);

  return rows.map((row) => presentMetric(row, names));
}

/** Stored user activities, newest first, for a principal with UserActivity.view. */
export async function findUserActivities(
  db: Kysely<Schema>,
  records: LinkedRecords,
  principal: Principal,
  params: Static<typeof UserActivityQuery>,
): Promise<UserActivity[]> {
  requirePermission(principal, 'UserActivity', 'view');

  const { workspaceId } = principal;
  const company = await byKey(records, workspaceId, 'Company', params.companyId);
  const endUser = await byKey(
    records,
    workspaceId,
    'EndUser',
    params.enduserId ?? params.endUserId,
  );
  if (company === undefined || endUser === undefined) return [];

  const query: ActivityQuery = {
    ...keyFilter(company, 'companyId', 'companyExternalId'),
    ...keyFilter(endUser, 'endUserId', 'externalId'),
    ...definedOnly({
      companyExternalId: params.companyExternalId,
      externalId: params.externalId,
      email: params.email,
      action: params.action,
    }),
    ...(params.from === undefined ? {} : { from: instant(params.from, 'from') }),
    ...(params.to === undefined ? {} : { to: instant(params.to, 'to') }),
    limit: Math.min(params.limit ?? DEFAULT_LIMIT, MAX_ACTIVITY_LIMIT),
    offset: params.offset ?? 0,
  };
  const rows = await listActivities(db, principal.workspaceId, query);

  return rows.map(presentActivity);
}

/** What a key in a read filter names: a record's _id, or an externalId as sent. */
type Key = { kind: 'none' } | { kind: 'id' | 'externalId'; value: string };

/**
 * `extid-<x>` names an object by its externalId, `srcid-<x>` by its sourceId (resolved
 * to the record's _id here, as rows hold no sourceId); anything else is its _id.
 * Undefined when a sourceId names no record, so nothing can match.
 */
async function byKey(
  records: LinkedRecords,
  workspaceId: string,
  model: 'Company' | 'EndUser',
  key: string | undefined,
): Promise<Key | undefined> {
  if (key === undefined) return { kind: 'none' };
  if (key.startsWith(EXTERNAL_ID_PREFIX)) {
    return { kind: 'externalId', value: key.slice(EXTERNAL_ID_PREFIX.length) };
  }
  if (!key.startsWith(SOURCE_ID_PREFIX)) return { kind: 'id', value: key };

  const sourceId = key.slice(SOURCE_ID_PREFIX.length);
  const [record] = await records.find(workspaceId, model, 'source_id', [sourceId]);
  return record === undefined ? undefined : { kind: 'id', value: record.id };
}

function keyFilter<K extends string>(
  key: Key,
  idField: K,
  externalIdField: K,
): Partial<Record<K, string>> {
  if (key.kind === 'none') return {};
  const field = key.kind === 'externalId' ? externalIdField : idField;
  return { [field]: key.value } as Partial<Record<K, string>>;
}

function definedOnly(fields: Record<string, string | undefined>): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) defined[key] = value;
  return defined;
}

// Epoch milliseconds as digits, or any date the ingestion endpoints accept.
function instant(value: string, field: string): number {
  const asNumber = /^\d+$/.test(value) ? Number(value) : value;
  try {
    return Date.parse(readDate(asNumber, field, new Date()));
  } catch (error) {
    if (error instanceof PayloadFieldError) throw invalidField(field, 'must be a date or time');
    throw error;
  }
}

/** Rows have an integer key; the API shows it in the 24-hex shape of every other _id. */
export function rowId(seq: number): string {
  return seq.toString(16).padStart(24, '0');
}

function presentMetric(row: StoredMetric, companyNames: Map<string, string>): DimensionData {
  const time = new Date(row.time).toISOString();
  return {
    _id: rowId(row.seq),
    dimensionId: row.dimensionId,
    value: row.value,
    model: row.model,
    externalId: row.externalId,
    parentId: row.objectId,
    companyId: row.companyId,
    companyName: row.companyId === null ? null : (companyNames.get(row.companyId) ?? null),
    time,
    date: time,
    day: row.day,
  };
}

function presentActivity(row: StoredActivity): UserActivity {
  return {
    _id: rowId(row.seq),
    time: new Date(row.time).toISOString(),
    action: row.action,
    weight: row.weight,
    count: row.count,
    email: row.email,
    externalId: row.externalId,
    companyExternalId: row.companyExternalId,
    name: row.name,
    enduserId: row.endUserId,
    companyId: row.companyId,
    info: row.info === null ? null : (JSON.parse(row.info) as unknown),
    receivedAt: new Date(row.receivedAt).toISOString(),
  };
}
