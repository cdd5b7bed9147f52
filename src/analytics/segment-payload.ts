import {
  PayloadFieldError,
  asRecord,
  isRecord,
  ownField,
  readDate,
  readEmail,
  readFirst,
  readIdentifier,
  readJsonObject,
  readText,
  settle,
  withoutUndefined,
} from './payload-fields.js';
import type { PayloadFailure } from './payload-fields.js';
import type { NormalizedActivity } from './activity-payload.js';

/** What an `identify` call says about an end user, for storage to upsert. */
export interface SegmentEndUser {
  externalId?: string;
  email?: string;
  companyExternalId?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
  /** ISO 8601 UTC with milliseconds: the event's timestamp, else receipt. */
  date: string;
  /** Every trait, copied under the same limits as activity info. */
  traits: Record<string, unknown> | null;
}

export type SegmentResult =
  | { ok: true; kind: 'activity'; activity: NormalizedActivity }
  | { ok: true; kind: 'identify'; endUser: SegmentEndUser }
  | PayloadFailure;

type Reader<T> = (value: unknown, label: string) => T | undefined;

// Where traits can sit, in order of preference: at the top level, as in
// identify calls and Planhat's legacy examples, or under context, where
// Segment's spec puts them for track.
interface TraitSource {
  path: string;
  traits: Record<string, unknown>;
}

/**
 * Maps one Segment `identify` or `track` event onto an end user or an activity.
 * Other types, and events that name neither a user id nor an email, are
 * rejected. Never throws.
 */
export function mapSegmentEvent(raw: unknown, receivedAt: Date): SegmentResult {
  const result = settle(() => readEvent(raw, receivedAt));

  return result.ok ? result.value : result;
}

function readEvent(raw: unknown, receivedAt: Date): Exclude<SegmentResult, PayloadFailure> {
  const event = asRecord(raw, 'Segment event');

  const type = readText(ownField(event, 'type'), 'type')?.toLowerCase();
  if (type === undefined) throw new PayloadFieldError('type must be specified');
  if (type !== 'identify' && type !== 'track') {
    throw new PayloadFieldError('type must be identify or track');
  }

  const sources = traitSources(event);
  const person = readPerson(event, sources);
  const date = readDate(ownField(event, 'timestamp'), 'timestamp', receivedAt);

  if (type === 'identify') {
    const traits = sources[0] ? readJsonObject(sources[0].traits, sources[0].path) : null;

    return { ok: true, kind: 'identify', endUser: withoutUndefined({ ...person, date, traits }) };
  }

  const activity: NormalizedActivity = withoutUndefined({
    ...person,
    action: readText(ownField(event, 'event'), 'event') ?? '',
    weight: 1,
    count: 1,
    date,
    info: readJsonObject(ownField(event, 'properties'), 'properties'),
  });

  return { ok: true, kind: 'activity', activity };
}

function traitSources(event: Record<string, unknown>): TraitSource[] {
  const sources: TraitSource[] = [];

  const traits = ownField(event, 'traits');
  if (traits !== undefined && traits !== null) {
    sources.push({ path: 'traits', traits: asRecord(traits, 'traits') });
  }

  const context = ownField(event, 'context');
  const contextTraits = isRecord(context) ? ownField(context, 'traits') : undefined;
  if (contextTraits !== undefined && contextTraits !== null) {
    sources.push({ path: 'context.traits', traits: asRecord(contextTraits, 'context.traits') });
  }

  return sources;
}

// The user id comes first from the event itself, then from the id trait;
// Planhat's own integration looks in that order too.
function readPerson(
  event: Record<string, unknown>,
  sources: TraitSource[],
): Omit<SegmentEndUser, 'date' | 'traits'> {
  const externalId =
    readFirst(event, ['userId', 'user_id'], readIdentifier) ??
    readTrait(sources, 'id', readIdentifier);
  const email = readTrait(sources, 'email', readEmail);

  if (externalId === undefined && email === undefined) {
    throw new PayloadFieldError('Segment event needs userId, traits.id or traits.email');
  }

  return {
    externalId,
    email,
    companyExternalId: readTrait(sources, 'companyId', readIdentifier) ?? readCompanyId(sources),
    name: readTrait(sources, 'name', readText),
    firstName: readTrait(sources, 'firstName', readText),
    lastName: readTrait(sources, 'lastName', readText),
  };
}

function readTrait<T>(sources: TraitSource[], key: string, read: Reader<T>): T | undefined {
  for (const { path, traits } of sources) {
    const value = read(ownField(traits, key), `${path}.${key}`);
    if (value !== undefined) return value;
  }

  return undefined;
}

// Segment's reserved `company` trait is an object whose `id` is the company's
// id in the customer's system, which is what Planhat calls its externalId. A
// plain string there is a company name, not an id, so it is not used.
function readCompanyId(sources: TraitSource[]): string | undefined {
  for (const { path, traits } of sources) {
    const company = ownField(traits, 'company');
    if (!isRecord(company)) continue;

    const id = readIdentifier(ownField(company, 'id'), `${path}.company.id`);
    if (id !== undefined) return id;
  }

  return undefined;
}
