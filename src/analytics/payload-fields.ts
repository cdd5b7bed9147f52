import {
  EPOCH_SECONDS_BELOW,
  MAX_DATE_MS,
  MAX_FIELD_LENGTH,
  MAX_JSON_BYTES,
  MAX_JSON_DEPTH,
  MIN_DATE_MS,
} from './payload-limits.js';

export type PayloadFailure = { ok: false; error: string };

// Field readers shared by the activity, metric and Segment normalisers. Each
// takes the raw value and the name the client used for it, treats null like an
// absent field, and throws PayloadFieldError with a message that is safe to
// return to the client.

/** A rejected field; the message names the field as the client spelled it. */
export class PayloadFieldError extends Error {
  override name = 'PayloadFieldError';
}

/**
 * Runs a reader and folds its failure into a result. Anything other than a
 * PayloadFieldError (say, a getter that throws on a non-JSON input) still
 * becomes a result, so callers can rely on the normalisers never throwing.
 */
export function settle<T>(read: () => T): { ok: true; value: T } | PayloadFailure {
  try {
    return { ok: true, value: read() };
  } catch (cause) {
    return { ok: false, error: refusalOf(cause) };
  }
}

/** What a reader's failure tells the client. */
export function refusalOf(cause: unknown): string {
  return cause instanceof PayloadFieldError ? cause.message : 'item could not be read';
}

export function asRecord(value: unknown, label: string): Record<string, unknown> {
  if (!isRecord(value)) throw new PayloadFieldError(`${label} must be an object`);

  return value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own properties only, so nothing inherited can pose as input. */
export function ownField(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The first alias key holding a value, read under the key the client used. */
export function readFirst<T>(
  record: Record<string, unknown>,
  keys: readonly string[],
  read: (value: unknown, label: string) => T | undefined,
): T | undefined {
  for (const key of keys) {
    const value = read(ownField(record, key), key);
    if (value !== undefined) return value;
  }

  return undefined;
}

/** Trimmed text; blank counts as absent. */
export function readText(value: unknown, label: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new PayloadFieldError(`${label} must be a string`);

  const text = value.trim();
  if (text === '') return undefined;
  if (text.length > MAX_FIELD_LENGTH) {
    throw new PayloadFieldError(`${label} must be at most ${MAX_FIELD_LENGTH} characters`);
  }

  return text;
}

/** readText that also takes integer ids, which some exporters send bare. */
export function readIdentifier(value: unknown, label: string): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);

  return readText(value, label);
}

// Deliberately loose: it catches swapped fields (a name in the email slot)
// without rejecting the unusual but valid addresses real customers have.
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

export function readEmail(value: unknown, label: string): string | undefined {
  const email = readText(value, label);
  if (email !== undefined && !EMAIL_SHAPE.test(email)) {
    throw new PayloadFieldError(`${label} must be an email address`);
  }

  return email;
}

export function readNonNegative(value: unknown, label: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new PayloadFieldError(`${label} must be a number`);
  }
  if (value < 0) throw new PayloadFieldError(`${label} must not be negative`);

  return value;
}

/**
 * An instant as ISO 8601 UTC with milliseconds. Takes ISO 8601 strings
 * (date-only and zone-less times are read as UTC, so the result never depends
 * on the server's zone), the strings JavaScript's Date itself prints, Date
 * objects, and epoch seconds or milliseconds.
 */
export function readDate(value: unknown, label: string, fallback: Date): string {
  if (value === undefined || value === null) return isoInRange(fallback.getTime(), 'receivedAt');
  if (value instanceof Date) return isoInRange(value.getTime(), label);
  if (typeof value === 'number' && Number.isFinite(value)) {
    // Scaling fractional seconds adds binary noise (1.005 s becomes 1004.99...
    // ms), so round those; milliseconds drop their fraction as the Date
    // constructor does.
    const ms = Math.abs(value) < EPOCH_SECONDS_BELOW ? Math.round(value * 1000) : Math.trunc(value);

    return isoInRange(ms, label);
  }
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return isoInRange(fallback.getTime(), 'receivedAt');
    if (isCanonicalIso(text)) return text;

    const ms = parseDateString(text);
    if (ms === undefined) throw new PayloadFieldError(`${label} must be a valid date string`);

    return isoInRange(ms, label);
  }

  throw new PayloadFieldError(`${label} must be a date string or a Unix timestamp`);
}

// The form Date#toISOString prints, which most clients send, checked field by field:
// a quarter of the cost of a regular expression, Date.parse and a round trip.
function isCanonicalIso(text: string): boolean {
  if (text.length !== 24) return false;
  for (let at = 0; at < 24; at += 1) {
    const code = text.charCodeAt(at);
    const expected = CANONICAL_SHAPE.charCodeAt(at);
    if (expected === DIGIT ? code < 48 || code > 57 : code !== expected) return false;
  }

  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < 1970 || month < 1 || month > 12 || day < 1) return false;
  if (day > daysInMonth(year, month)) return false;

  return digitsAt(text, 11, 2) <= 23 && digitsAt(text, 14, 2) <= 59 && digitsAt(text, 17, 2) <= 59;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

const DIGIT = 0x64; // the `d` placeholders below
const CANONICAL_SHAPE = 'dddd-dd-ddTdd:dd:dd.dddZ';

function digitsAt(text: string, start: number, length: number): number {
  let value = 0;
  for (let at = start; at < start + length; at += 1) value = value * 10 + text.charCodeAt(at) - 48;
  return value;
}

function isoInRange(ms: number, label: string): string {
  if (Number.isNaN(ms)) throw new PayloadFieldError(`${label} must be a valid date`);
  if (ms < MIN_DATE_MS || ms > MAX_DATE_MS) {
    throw new PayloadFieldError(`${label} must be between 1970-01-01 and 9999-12-31`);
  }

  return new Date(ms).toISOString();
}

// Room for every form below, even Date#toString() with a long zone name.
const MAX_DATE_STRING_LENGTH = 100;

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

// Date#toUTCString(): "Wed, 10 Jan 2024 09:00:00 GMT".
const UTC_STRING = /^(?:[a-z]{3}, )?(\d{1,2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/i;

// Date#toString(): "Wed Jan 10 2024 10:00:00 GMT+0100 (Central European
// Standard Time)".
const LOCAL_STRING =
  /^(?:[a-z]{3} )?([a-z]{3}) (\d{1,2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT([+-]\d{4})(?: \([^)]*\))?$/i;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

interface DateParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
  offsetMinutes: number;
}

// Parsed by hand rather than with Date.parse, whose handling of non-ISO strings
// varies by engine and reads zone-less times in the server's local zone.
function parseDateString(text: string): number | undefined {
  if (text.length > MAX_DATE_STRING_LENGTH) return undefined;

  const iso = ISO_DATE.exec(text);
  if (iso) {
    const [, year, month, day, hour, minute, second, fraction, zone] = iso;

    return utcInstant({
      year: Number(year),
      month: Number(month),
      day: Number(day),
      hour: Number(hour ?? 0),
      minute: Number(minute ?? 0),
      second: Number(second ?? 0),
      millisecond: Number((fraction ?? '').slice(0, 3).padEnd(3, '0')),
      offsetMinutes: parseOffset(zone),
    });
  }

  const utc = UTC_STRING.exec(text);
  if (utc) {
    const [, day, month, year, hour, minute, second] = utc;

    return fromNamedMonth({ year, month, day, hour, minute, second });
  }

  const local = LOCAL_STRING.exec(text);
  if (local) {
    const [, month, day, year, hour, minute, second, zone] = local;

    return fromNamedMonth({ year, month, day, hour, minute, second, zone });
  }

  return undefined;
}

// Capture groups of the named-month forms; any group may be missing.
interface NamedMonthFields {
  year?: string;
  month?: string;
  day?: string;
  hour?: string;
  minute?: string;
  second?: string;
  zone?: string;
}

function fromNamedMonth(fields: NamedMonthFields): number | undefined {
  const month = MONTHS.indexOf((fields.month ?? '').toLowerCase()) + 1;
  if (month === 0) return undefined;

  return utcInstant({
    year: Number(fields.year),
    month,
    day: Number(fields.day),
    hour: Number(fields.hour),
    minute: Number(fields.minute),
    second: Number(fields.second),
    millisecond: 0,
    offsetMinutes: parseOffset(fields.zone),
  });
}

/** Minutes east of UTC for Z, +05, +0530 or +05:30; NaN if out of range. */
function parseOffset(zone: string | undefined): number {
  if (zone === undefined || zone.toUpperCase() === 'Z') return 0;

  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return Number.NaN;

  return sign * (hours * 60 + minutes);
}

function utcInstant(parts: DateParts): number | undefined {
  const { year, month, day, hour, minute, second, millisecond, offsetMinutes } = parts;
  if (Number.isNaN(offsetMinutes)) return undefined;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }

  // setUTCFullYear, unlike Date.UTC, does not map years 0 to 99 onto the 1900s.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, millisecond);

  return date.getTime() - offsetMinutes * 60_000;
}

// Keys that reach Object.prototype if a consumer merges the object naively.
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A free-form JSON object, copied so that unsafe keys are dropped and the copy
 * holds only plain JSON values, within MAX_JSON_DEPTH and MAX_JSON_BYTES.
 */
export function readJsonObject(value: unknown, label: string): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value)) throw new PayloadFieldError(`${label} must be an object`);

  const budget = { label, remaining: MAX_JSON_BYTES, most: 0 };
  const copy = copyObject(value, 1, budget);
  // Only a copy that might be too large is measured exactly.
  if (budget.most > MAX_JSON_BYTES && Buffer.byteLength(JSON.stringify(copy)) > MAX_JSON_BYTES) {
    throw tooLarge(label);
  }

  return copy;
}

interface CopyBudget {
  label: string;
  // A lower bound on the bytes still allowed, so a huge value is abandoned
  // early instead of being copied in full only to be rejected.
  remaining: number;
  // An upper bound on the bytes of the JSON text so far: every UTF-16 unit of a
  // string at its longest escape, every number at its longest form.
  most: number;
}

const MOST_PER_CHARACTER = 6;
const MOST_PER_NUMBER = 25;

function copyValue(value: unknown, depth: number, budget: CopyBudget): unknown {
  if (typeof value === 'string') {
    return spend(budget, value.length + 2, value.length * MOST_PER_CHARACTER + 3, value);
  }
  if (typeof value === 'boolean' || value === null) return spend(budget, 4, 6, value);
  if (typeof value === 'number' && Number.isFinite(value)) {
    return spend(budget, 1, MOST_PER_NUMBER, value);
  }
  if (Array.isArray(value)) return copyArray(value, depth, budget);
  if (isPlainObject(value)) return copyObject(value, depth, budget);

  throw new PayloadFieldError(`${budget.label} must contain only JSON values`);
}

function copyArray(value: unknown[], depth: number, budget: CopyBudget): unknown[] {
  enter(depth, budget);

  // Indexed, not mapped, so that holes in a sparse array are rejected.
  const copy: unknown[] = [];
  for (let index = 0; index < value.length; index += 1) {
    copy.push(copyValue(value[index], depth + 1, budget));
  }

  return copy;
}

function copyObject(
  value: Record<string, unknown>,
  depth: number,
  budget: CopyBudget,
): Record<string, unknown> {
  enter(depth, budget);

  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (UNSAFE_KEYS.has(key)) continue;
    spend(budget, key.length + 3, key.length * MOST_PER_CHARACTER + 3, key);
    copy[key] = copyValue(value[key], depth + 1, budget);
  }

  return copy;
}

function enter(depth: number, budget: CopyBudget): void {
  if (depth > MAX_JSON_DEPTH) {
    throw new PayloadFieldError(`${budget.label} must be nested at most ${MAX_JSON_DEPTH} levels`);
  }
  spend(budget, 2, 3, undefined);
}

function spend<T>(budget: CopyBudget, least: number, most: number, value: T): T {
  budget.remaining -= least;
  budget.most += most;
  if (budget.remaining < 0) throw tooLarge(budget.label);

  return value;
}

function tooLarge(label: string): PayloadFieldError {
  return new PayloadFieldError(`${label} must be at most ${MAX_JSON_BYTES} bytes as JSON`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;

  const prototype: unknown = Object.getPrototypeOf(value);

  return prototype === Object.prototype || prototype === null;
}

/** Drops absent optional fields so results compare and serialise cleanly. */
export function withoutUndefined<T extends object>(value: T): T {
  // A plain loop: this runs for every ingested item, and entries/fromEntries cost a
  // microsecond each time.
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) copy[key] = field;
  }

  return copy as T;
}
