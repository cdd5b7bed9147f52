import {
  PayloadFieldError,
  asRecord,
  ownField,
  readDate,
  readEmail,
  readFirst,
  readIdentifier,
  readJsonObject,
  readNonNegative,
  readText,
  refusalOf,
} from './payload-fields.js';
import type { PayloadFailure } from './payload-fields.js';

export type { PayloadFailure } from './payload-fields.js';

/** One user activity, with aliases resolved and defaults applied. */
export interface NormalizedActivity {
  email?: string;
  externalId?: string;
  companyExternalId?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  /** Empty if none was sent: the activity still counts as usage. */
  action: string;
  weight: number;
  count: number;
  /** ISO 8601 in UTC with milliseconds. */
  date: string;
  info: Record<string, unknown> | null;
}

export type ActivityResult = { ok: true; activity: NormalizedActivity } | PayloadFailure;

// Keys for the end user's id in the client's own system, in order of
// preference: the single-event name, the legacy bulk name, then the names
// Airbyte and Segment use.
const EXTERNAL_ID_KEYS = ['externalId', 'id', 'euExtId', 'userId'];

// In activity payloads `companyId` carries the company's externalId, not a
// Planhat _id.
const COMPANY_EXTERNAL_ID_KEYS = ['companyExternalId', 'cId', 'companyId'];

/**
 * Turns one user-activity item, as posted singly or in bulk, into a normalised
 * activity. Never throws; a rejected item comes back with an error naming the
 * offending field.
 */
export function normalizeActivity(raw: unknown, receivedAt: Date): ActivityResult {
  const activity = readActivityOrRefusal(raw, receivedAt);

  return typeof activity === 'string' ? { ok: false, error: activity } : { ok: true, activity };
}

/**
 * normalizeActivity without the result around it, for the ingestion loop, where one
 * object fewer per item counts: the activity, or the message refusing the item.
 */
export function readActivityOrRefusal(raw: unknown, receivedAt: Date): NormalizedActivity | string {
  try {
    return readActivity(raw, receivedAt);
  } catch (cause) {
    return refusalOf(cause);
  }
}

function readActivity(raw: unknown, receivedAt: Date): NormalizedActivity {
  const item = asRecord(raw, 'activity');
  const email = readEmail(ownField(item, 'email'), 'email');
  const externalId = readFirst(item, EXTERNAL_ID_KEYS, readIdentifier);

  if (email === undefined && externalId === undefined) {
    throw new PayloadFieldError('email or externalId must be specified');
  }

  const companyExternalId = readFirst(item, COMPANY_EXTERNAL_ID_KEYS, readIdentifier);
  const name = readText(ownField(item, 'name'), 'name');
  const firstName = readText(ownField(item, 'firstName'), 'firstName');
  const lastName = readText(ownField(item, 'lastName'), 'lastName');
  const activity: NormalizedActivity = {
    action: readText(ownField(item, 'action'), 'action') ?? '',
    weight: readNonNegative(ownField(item, 'weight'), 'weight', 1),
    count: readNonNegative(ownField(item, 'count'), 'count', 1),
    date: readDate(ownField(item, 'date'), 'date', receivedAt),
    info: readJsonObject(ownField(item, 'info'), 'info'),
  };

  // Set one by one rather than filtered afterwards: this runs for every ingested item.
  if (email !== undefined) activity.email = email;
  if (externalId !== undefined) activity.externalId = externalId;
  if (companyExternalId !== undefined) activity.companyExternalId = companyExternalId;
  if (name !== undefined) activity.name = name;
  if (firstName !== undefined) activity.firstName = firstName;
  if (lastName !== undefined) activity.lastName = lastName;

  return activity;
}
