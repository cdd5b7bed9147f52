import {
  PayloadFieldError,
  asRecord,
  ownField,
  readDate,
  readText,
  readIdentifier,
  settle,
  withoutUndefined,
} from './payload-fields.js';
import type { PayloadFailure } from './payload-fields.js';
import { MS_PER_DAY } from './payload-limits.js';

export const METRIC_MODELS = ['Company', 'EndUser', 'Asset', 'Project'] as const;

export type MetricModel = (typeof METRIC_MODELS)[number];

/** One custom-metric value for one object on one instant. */
export interface NormalizedMetric {
  dimensionId: string;
  value: number;
  /** At least one key is present; id is a lower-case ObjectId. */
  externalId?: string;
  id?: string;
  model: MetricModel;
  /** ISO 8601 in UTC with milliseconds. */
  date: string;
  /** Days since 1970-01-01 UTC, the unit `GET /dimensiondata` filters on. */
  day: number;
}

export type MetricResult = { ok: true; metric: NormalizedMetric } | PayloadFailure;

// Legacy names for externalId; each also implies the model.
const LEGACY_EXTERNAL_ID_KEYS: ReadonlyArray<readonly [string, MetricModel]> = [
  ['companyExternalId', 'Company'],
  ['assetExtId', 'Asset'],
];

const OBJECT_ID = /^[0-9a-f]{24}$/i;

/**
 * Turns one custom-metric item, as posted to `/dimensiondata`, into a
 * normalised metric. Never throws; a rejected item comes back with an error
 * naming the offending field.
 */
export function normalizeMetric(raw: unknown, receivedAt: Date): MetricResult {
  const result = settle(() => readMetric(raw, receivedAt));

  return result.ok ? { ok: true, metric: result.value } : result;
}

/** Days since 1970-01-01 UTC; NaN for an invalid Date. */
export function dayNumber(date: Date): number {
  return Math.floor(date.getTime() / MS_PER_DAY);
}

function readMetric(raw: unknown, receivedAt: Date): NormalizedMetric {
  const item = asRecord(raw, 'metric');

  const dimensionId = readText(ownField(item, 'dimensionId'), 'dimensionId');
  if (dimensionId === undefined) throw new PayloadFieldError('dimensionId must be specified');

  const value = ownField(item, 'value');
  if (value === undefined || value === null) throw new PayloadFieldError('value must be specified');
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PayloadFieldError('value must be a number');
  }

  const id = readObjectId(ownField(item, 'id'));
  const target = readTarget(item);
  if (target.externalId === undefined && id === undefined) {
    throw new PayloadFieldError('externalId or id must be specified');
  }

  const date = readDate(ownField(item, 'date'), 'date', receivedAt);

  return withoutUndefined({
    dimensionId,
    value,
    externalId: target.externalId,
    id,
    model: target.model,
    date,
    day: dayNumber(new Date(date)),
  });
}

function readObjectId(value: unknown): string | undefined {
  const id = readText(value, 'id');
  if (id !== undefined && !OBJECT_ID.test(id)) {
    throw new PayloadFieldError('id must be a 24-character hexadecimal ObjectId');
  }

  return id?.toLowerCase();
}

/** The model and externalId, reconciling `model` with any legacy key. */
function readTarget(item: Record<string, unknown>): { externalId?: string; model: MetricModel } {
  const model = readModel(ownField(item, 'model'));

  const externalId = readIdentifier(ownField(item, 'externalId'), 'externalId');
  if (externalId !== undefined) return { externalId, model: model ?? 'Company' };

  for (const [key, impliedModel] of LEGACY_EXTERNAL_ID_KEYS) {
    const legacyId = readIdentifier(ownField(item, key), key);
    if (legacyId === undefined) continue;
    if (model !== undefined && model !== impliedModel) {
      throw new PayloadFieldError(`${key} cannot be used with model ${model}`);
    }

    return { externalId: legacyId, model: impliedModel };
  }

  return { model: model ?? 'Company' };
}

function readModel(value: unknown): MetricModel | undefined {
  const name = readText(value, 'model');
  if (name === undefined) return undefined;

  // Clients disagree on casing ("Enduser", "endUser"), so match without it.
  const model = METRIC_MODELS.find((known) => known.toLowerCase() === name.toLowerCase());
  if (model === undefined) {
    throw new PayloadFieldError(`model must be one of ${METRIC_MODELS.join(', ')}`);
  }

  return model;
}
