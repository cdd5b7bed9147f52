import { randomBytes } from 'node:crypto';

import {
  allows,
  getField,
  MAX_STRING_LENGTH,
  MAX_TEXT_LENGTH,
  type CustomFieldType,
  type FieldDefinition,
  type JsonObject,
  type JsonValue,
  type ListFilterParam,
  type ModelDefinition,
} from './model-catalogue.js';

/**
 * Checks and normalises record bodies, record keys and list queries against the
 * model catalogue. Everything here is pure (no storage, no HTTP), and no body,
 * key or query can make it throw.
 *
 * Outputs are fresh objects holding copies of the input's own keys. Keys that
 * could reach an object prototype (`__proto__`, `constructor`, `prototype`) are
 * never copied, at any depth, so a later merge of the output cannot pollute
 * anything.
 */

export type { JsonObject, JsonValue } from './model-catalogue.js';

/** A workspace custom field; `model` is its parent model (`Company`). */
export interface CustomFieldDefinition {
  readonly model: string;
  readonly name: string;
  readonly type: string;
}

export type ValidationCode =
  | 'invalid_body'
  | 'not_writable'
  | 'required'
  | 'invalid_type'
  | 'invalid_value'
  | 'invalid_date'
  | 'invalid_email'
  | 'invalid_reference'
  | 'too_long'
  | 'too_deep'
  | 'too_many_items';

export interface ValidationIssue {
  /** The field at fault (`custom.Score`, `tags[2]`); `''` for the body. */
  readonly field: string;
  readonly code: ValidationCode;
  readonly message: string;
}

export type ValidationResult =
  | { readonly ok: true; readonly value: JsonObject; readonly ignoredFields: readonly string[] }
  | { readonly ok: false; readonly errors: readonly ValidationIssue[] };

/** Deepest nesting of objects and arrays in a field, counting its value. */
export const MAX_DEPTH = 8;
export const MAX_ARRAY_ITEMS = 10_000;
const MAX_ERRORS = 100;
const MAX_EMAIL_LENGTH = 254;
const MAX_QUERY_VALUE_LENGTH = 20_000;

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const OBJECT_ID = /^[0-9a-fA-F]{24}$/;
// Length is capped before matching, which keeps the overlapping classes cheap.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

// Years 0000 to 9999: the range ISO 8601 writes without an expanded year.
const MIN_TIME = -62_167_219_200_000;
const MAX_TIME = 253_402_300_799_999;
const DAY_MS = 86_400_000;
const MIN_DAY = Math.floor(MIN_TIME / DAY_MS);
const MAX_DAY = Math.floor(MAX_TIME / DAY_MS);

// A date, then optionally a time (seconds and fraction optional) and a zone.
const DATE_PART = String.raw`(\d{4})-(\d{2})-(\d{2})`;
const TIME_PART = String.raw`[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?`;
const ZONE_PART = String.raw`[Zz]|[+-]\d{2}(?::?\d{2})?`;
const ISO_DATE = new RegExp(`^${DATE_PART}(?:${TIME_PART}(${ZONE_PART})?)?$`);

const DATE_MESSAGE = 'must be an ISO 8601 date or epoch milliseconds';
const DAY_MESSAGE = 'must be a day number (days since 1970-01-01) or an ISO 8601 date';
const KEY_MESSAGE = 'must be an ObjectId, extid-<externalId> or srcid-<sourceId>';
const COMPANY_FILTER_MESSAGE =
  'companyId must list ObjectIds, extid-<externalId> or srcid-<sourceId> keys';

const PLAIN_STRING: FieldDefinition = { type: 'string' };

// Numbers come back as `raw + 0`, which turns -0 (which JSON cannot carry) into 0.

const INVALID: unique symbol = Symbol('invalid');
type Checked<T> = T | typeof INVALID;

interface Context {
  readonly errors: ValidationIssue[];
  readonly ignored: string[];
}

function fail(ctx: Context, field: string, code: ValidationCode, message: string): typeof INVALID {
  if (ctx.errors.length < MAX_ERRORS) ctx.errors.push({ field, code, message });
  return INVALID;
}

/** A wrong-type error: `companyId must be a string`. */
function mustBe(ctx: Context, field: string, what: string): typeof INVALID {
  return fail(ctx, field, 'invalid_type', `${field} must be ${what}`);
}

/** An object as `JSON.parse` or a query parser builds it. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && !value.trim());
}

/**
 * Checks a body for `POST /{model}` or a bulk item that will be inserted.
 * Unknown and server-computed fields are dropped and listed in `ignoredFields`;
 * defaults and derived fields (an end user's `name`) are filled in. References
 * stay unresolved.
 */
export function validateCreate(
  model: ModelDefinition,
  body: unknown,
  customFieldDefs: readonly CustomFieldDefinition[] = [],
): ValidationResult {
  if (!allows(model, 'create') && !allows(model, 'bulkUpsert')) {
    return notWritable(model);
  }
  return validateBody(model, body, customFieldDefs, 'create');
}

/**
 * Checks a partial body for `PUT /{model}/{key}` or a matched bulk item: only
 * the fields present are checked, and required fields may be left out but not
 * cleared.
 */
export function validateUpdate(
  model: ModelDefinition,
  body: unknown,
  customFieldDefs: readonly CustomFieldDefinition[] = [],
): ValidationResult {
  if (!allows(model, 'update') && !allows(model, 'bulkUpsert')) {
    return notWritable(model);
  }
  return validateBody(model, body, customFieldDefs, 'update');
}

function notWritable(model: ModelDefinition): ValidationResult {
  const message = `${model.name} records are read-only`;
  return { ok: false, errors: [{ field: '', code: 'not_writable', message }] };
}

function validateBody(
  model: ModelDefinition,
  body: unknown,
  customFieldDefs: readonly CustomFieldDefinition[],
  mode: 'create' | 'update',
): ValidationResult {
  if (!isPlainObject(body)) {
    const message = 'The body must be a JSON object';
    return { ok: false, errors: [{ field: '', code: 'invalid_body', message }] };
  }

  const ctx: Context = { errors: [], ignored: [] };
  const { computed, required } = fieldSetsOf(model);
  const value: JsonObject = {};

  for (const key of Object.keys(body)) {
    if (ctx.errors.length >= MAX_ERRORS) break;
    const raw = body[key];
    if (raw === undefined) continue;

    const field = UNSAFE_KEYS.has(key) ? undefined : getField(model, key);
    if (field === undefined || computed.has(key)) {
      ctx.ignored.push(key);
      continue;
    }

    if (required.has(key) && isBlank(raw)) {
      fail(ctx, key, 'required', `${key} is required`);
      continue;
    }

    const checked =
      field.type === 'custom'
        ? checkCustom(model, raw, customFieldDefs, ctx)
        : raw === null
          ? null
          : checkField(key, field, raw, ctx);
    if (checked !== INVALID) value[key] = checked;
  }

  if (mode === 'create') checkRequired(model, body, ctx);
  if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors };

  if (mode === 'create') {
    for (const [key, initial] of Object.entries(model.defaults)) {
      if (value[key] === undefined || value[key] === null) value[key] = cloneJson(initial);
    }
    fillDerived(model, value);
  }
  return { ok: true, value, ignoredFields: ctx.ignored };
}

interface FieldSets {
  readonly computed: ReadonlySet<string>;
  readonly required: ReadonlySet<string>;
}

// Bulk upserts validate thousands of bodies of one model; its sets are built once.
const FIELD_SETS = new WeakMap<ModelDefinition, FieldSets>();

function fieldSetsOf(model: ModelDefinition): FieldSets {
  let sets = FIELD_SETS.get(model);
  if (sets === undefined) {
    sets = { computed: new Set(model.computed), required: new Set(model.required) };
    FIELD_SETS.set(model, sets);
  }
  return sets;
}

/** A deep copy of a JSON value; much cheaper than structuredClone for small defaults. */
function cloneJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (typeof value !== 'object' || value === null) return value;
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const item = value[key];
    if (item !== undefined) copy[key] = cloneJson(item);
  }
  return copy;
}

function checkRequired(model: ModelDefinition, body: Record<string, unknown>, ctx: Context): void {
  for (const key of model.required) {
    if (!Object.hasOwn(body, key) || body[key] === undefined) {
      fail(ctx, key, 'required', `${key} is required`);
    }
  }
  for (const group of model.requiredOneOf) {
    if (group.some((key) => Object.hasOwn(body, key) && !isBlank(body[key]))) continue;
    const first = group[0] ?? '';
    fail(ctx, first, 'required', `one of ${group.join(', ')} is required`);
  }
}

/** Writes each derived field from its sources when the body leaves it empty. */
function fillDerived(model: ModelDefinition, value: JsonObject): void {
  for (const derived of model.derived) {
    if (!isBlank(value[derived.field])) continue;
    const composed = compose(value, derived.from);
    if (composed !== undefined) value[derived.field] = composed;
  }
}

function compose(record: Readonly<JsonObject>, from: readonly string[]): string | undefined {
  const parts = from
    .map((key) => record[key])
    .filter((part): part is string => typeof part === 'string' && part.trim() !== '')
    .map((part) => part.trim());
  return parts.length > 0 ? parts.join(' ') : undefined;
}

function checkField(
  path: string,
  field: FieldDefinition,
  raw: unknown,
  ctx: Context,
): Checked<JsonValue> {
  switch (field.type) {
    case 'string':
      return checkString(path, field, raw, ctx);
    case 'number':
      return checkNumber(path, field, raw, ctx);
    case 'boolean':
      return typeof raw === 'boolean' ? raw : mustBe(ctx, path, 'a boolean');
    case 'date':
      return checkDate(path, raw, ctx);
    case 'day':
      return checkDay(path, raw, ctx);
    case 'email':
      return checkEmail(path, raw, ctx);
    case 'objectId':
      return checkObjectId(path, raw, ctx);
    case 'reference':
      return checkReference(path, raw, ctx);
    case 'string[]':
      return checkList(path, raw, ctx, (item, at) => checkString(at, PLAIN_STRING, item, ctx));
    case 'objectId[]':
      return checkList(path, raw, ctx, (item, at) => checkObjectId(at, item, ctx));
    case 'reference[]':
      return checkList(path, raw, ctx, (item, at) => checkReference(at, item, ctx));
    case 'object':
      if (!isPlainObject(raw)) return mustBe(ctx, path, 'an object');
      return sanitizeJson(path, raw, 0, ctx);
    case 'array':
      if (!Array.isArray(raw)) return mustBe(ctx, path, 'an array');
      return sanitizeJson(path, raw, 0, ctx);
    case 'json':
    case 'custom':
      return sanitizeJson(path, raw, 0, ctx);
  }
}

function checkString(
  path: string,
  field: FieldDefinition,
  raw: unknown,
  ctx: Context,
): Checked<string> {
  if (typeof raw !== 'string') return mustBe(ctx, path, 'a string');
  const max = field.maxLength ?? MAX_STRING_LENGTH;
  if (raw.length > max) {
    return fail(ctx, path, 'too_long', `${path} must be at most ${max} characters`);
  }
  if (field.values !== undefined && !field.values.includes(raw)) {
    const message = `${path} must be one of ${field.values.join(', ')}`;
    return fail(ctx, path, 'invalid_value', message);
  }
  return raw;
}

function checkNumber(
  path: string,
  field: FieldDefinition,
  raw: unknown,
  ctx: Context,
): Checked<number> {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) {
    return mustBe(ctx, path, 'a number');
  }
  if (field.integer === true && !Number.isInteger(raw)) {
    return fail(ctx, path, 'invalid_value', `${path} must be a whole number`);
  }
  if (
    (field.min !== undefined && raw < field.min) ||
    (field.max !== undefined && raw > field.max)
  ) {
    const message = `${path} must be between ${field.min ?? '-∞'} and ${field.max ?? '∞'}`;
    return fail(ctx, path, 'invalid_value', message);
  }
  return raw + 0;
}

function checkDate(path: string, raw: unknown, ctx: Context): Checked<string> {
  const time = toTime(raw);
  if (time === undefined) return fail(ctx, path, 'invalid_date', `${path} ${DATE_MESSAGE}`);
  return new Date(time).toISOString();
}

function checkDay(path: string, raw: unknown, ctx: Context): Checked<number> {
  if (typeof raw === 'number') {
    if (Number.isInteger(raw) && raw >= MIN_DAY && raw <= MAX_DAY) return raw + 0;
    return fail(ctx, path, 'invalid_date', `${path} ${DAY_MESSAGE}`);
  }
  const time = typeof raw === 'string' ? parseIsoDate(raw) : undefined;
  if (time === undefined) return fail(ctx, path, 'invalid_date', `${path} ${DAY_MESSAGE}`);
  return Math.floor(time / DAY_MS);
}

/** Epoch milliseconds, from an ISO 8601 string or epoch milliseconds. */
function toTime(raw: unknown): number | undefined {
  if (typeof raw === 'number') {
    return Number.isInteger(raw) && raw >= MIN_TIME && raw <= MAX_TIME ? raw : undefined;
  }
  return typeof raw === 'string' ? parseIsoDate(raw) : undefined;
}

/**
 * Parses ISO 8601 dates and date-times by hand, since `Date.parse` accepts many
 * other formats and reads a date-time without an offset as server-local time.
 * Here such a date-time is read as UTC, so the result never depends on the
 * server's time zone.
 */
function parseIsoDate(text: string): number | undefined {
  if (text.length > 40) return undefined;
  const match = ISO_DATE.exec(text.trim());
  if (match === null) return undefined;

  const [, y = '', mo = '', d = '', h = '0', mi = '0', s = '0', fraction = '', zone] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }

  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0 to 99 onto the 1900s.
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  date.setUTCHours(hour, minute, second, Number(fraction.padEnd(3, '0').slice(0, 3)));

  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) return undefined;
  const time = date.getTime() - offset * 60_000;
  return time >= MIN_TIME && time <= MAX_TIME ? time : undefined;
}

function zoneOffsetMinutes(zone: string | undefined): number | undefined {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
  if (digits.length !== 2 && digits.length !== 4) return undefined;
  if (hours > 23 || minutes > 59) return undefined;
  return (zone.startsWith('-') ? -1 : 1) * (hours * 60 + minutes);
}

function checkEmail(path: string, raw: unknown, ctx: Context): Checked<string> {
  if (typeof raw !== 'string') return mustBe(ctx, path, 'a string');
  const email = raw.trim();
  if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) {
    return fail(ctx, path, 'invalid_email', `${path} must be an email address`);
  }
  return email;
}

function checkObjectId(path: string, raw: unknown, ctx: Context): Checked<string> {
  if (typeof raw !== 'string') return mustBe(ctx, path, 'a string');
  if (!OBJECT_ID.test(raw)) return fail(ctx, path, 'invalid_value', `${path} must be an ObjectId`);
  return raw.toLowerCase();
}

function checkReference(path: string, raw: unknown, ctx: Context): Checked<string> {
  if (typeof raw !== 'string') return mustBe(ctx, path, 'a string');
  const key = parseRecordKey(raw, 'plain');
  if (key.kind === 'invalid') return fail(ctx, path, 'invalid_reference', `${path} ${KEY_MESSAGE}`);
  return key.kind === 'id' ? key.value : raw;
}

function checkList<T extends JsonValue>(
  path: string,
  raw: unknown,
  ctx: Context,
  checkItem: (item: unknown, at: string) => Checked<T>,
): Checked<T[]> {
  if (!Array.isArray(raw)) return mustBe(ctx, path, 'an array');
  if (raw.length > MAX_ARRAY_ITEMS) {
    const message = `${path} must hold at most ${MAX_ARRAY_ITEMS} items`;
    return fail(ctx, path, 'too_many_items', message);
  }
  const items: T[] = [];
  let valid = true;
  for (let index = 0; index < raw.length && ctx.errors.length < MAX_ERRORS; index++) {
    const item = checkItem(raw[index], `${path}[${index}]`);
    if (item === INVALID) valid = false;
    else items.push(item);
  }
  return valid ? items : INVALID;
}

/**
 * Copies free-form JSON, dropping prototype-reaching keys (reported as ignored)
 * and rejecting non-JSON values, over-long strings and nesting deeper than
 * `MAX_DEPTH`. `depth` counts the containers around `raw`.
 */
function sanitizeJson(path: string, raw: unknown, depth: number, ctx: Context): Checked<JsonValue> {
  if (raw === null || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') {
    return Number.isFinite(raw) ? raw + 0 : mustBe(ctx, path, 'a finite number');
  }
  if (typeof raw === 'string') {
    if (raw.length <= MAX_STRING_LENGTH) return raw;
    return fail(ctx, path, 'too_long', `${path} must be at most ${MAX_STRING_LENGTH} characters`);
  }

  const isArray = Array.isArray(raw);
  if (!isArray && !isPlainObject(raw)) {
    return mustBe(ctx, path, 'a JSON value');
  }
  if (depth + 1 > MAX_DEPTH) {
    return fail(ctx, path, 'too_deep', `${path} must nest at most ${MAX_DEPTH} levels`);
  }

  if (isArray) {
    if (raw.length > MAX_ARRAY_ITEMS) {
      const message = `${path} must hold at most ${MAX_ARRAY_ITEMS} items`;
      return fail(ctx, path, 'too_many_items', message);
    }
    const items: JsonValue[] = [];
    let valid = true;
    for (let index = 0; index < raw.length && ctx.errors.length < MAX_ERRORS; index++) {
      const element: unknown = raw[index];
      // Only code builds holes or undefined; null keeps positions stable.
      const item =
        element === undefined ? null : sanitizeJson(`${path}[${index}]`, element, depth + 1, ctx);
      if (item === INVALID) valid = false;
      else items.push(item);
    }
    return valid ? items : INVALID;
  }

  const copy: JsonObject = {};
  let valid = true;
  for (const key of Object.keys(raw)) {
    if (ctx.errors.length >= MAX_ERRORS) break;
    const value = raw[key];
    if (value === undefined) continue;
    if (UNSAFE_KEYS.has(key)) {
      ctx.ignored.push(`${path}.${key}`);
      continue;
    }
    const item = sanitizeJson(`${path}.${key}`, value, depth + 1, ctx);
    if (item === INVALID) valid = false;
    else copy[key] = item;
  }
  return valid ? copy : INVALID;
}

// Other spellings accepted for Planhat's custom field types.
const CUSTOM_TYPE_ALIASES: Readonly<Record<string, CustomFieldType>> = {
  boolean: 'checkbox',
  user: 'team member',
  users: 'team members',
};

// Planhat documents no format for phone numbers or URLs, so any string passes
// for them. A `day` holds a calendar day and is stored like any other date.
const CUSTOM_TYPE_CHECKS: Readonly<Record<CustomFieldType, FieldDefinition>> = {
  text: PLAIN_STRING,
  phone: PLAIN_STRING,
  url: PLAIN_STRING,
  list: PLAIN_STRING,
  'rich text': { type: 'string', maxLength: MAX_TEXT_LENGTH },
  number: { type: 'number' },
  rating: { type: 'number' },
  checkbox: { type: 'boolean' },
  date: { type: 'date' },
  day: { type: 'date' },
  multipicklist: { type: 'string[]' },
  'team member': { type: 'objectId' },
  'team members': { type: 'objectId[]' },
  enduser: { type: 'objectId' },
  endusers: { type: 'objectId[]' },
  email: { type: 'email' },
};

const CHECKS_BY_TYPE = new Map<string, FieldDefinition>([
  ...Object.entries(CUSTOM_TYPE_CHECKS),
  ...Object.entries(CUSTOM_TYPE_ALIASES).map(([alias, type]): [string, FieldDefinition] => [
    alias,
    CUSTOM_TYPE_CHECKS[type],
  ]),
]);

function customTypeCheck(type: string): FieldDefinition | undefined {
  return CHECKS_BY_TYPE.get(type.trim().toLowerCase());
}

/**
 * The checks for `model`'s custom fields, by name. The first definition of a
 * name wins, and one whose type is unknown leaves that name unchecked.
 */
function customChecksFor(
  model: ModelDefinition,
  defs: readonly CustomFieldDefinition[],
): Map<string, FieldDefinition | undefined> {
  // A write reads the definitions once and checks every item of a bulk upsert with the
  // same list, so its checks are built once per list and model.
  const byModel = Array.isArray(defs) ? CUSTOM_CHECKS.get(defs) : undefined;
  const known = byModel?.get(model);
  if (known !== undefined) return known;
  const checks = buildCustomChecks(model, defs);
  if (Array.isArray(defs)) {
    if (byModel === undefined) CUSTOM_CHECKS.set(defs, new Map([[model, checks]]));
    else byModel.set(model, checks);
  }
  return checks;
}

const CUSTOM_CHECKS = new WeakMap<
  readonly CustomFieldDefinition[],
  Map<ModelDefinition, Map<string, FieldDefinition | undefined>>
>();

function buildCustomChecks(
  model: ModelDefinition,
  defs: readonly CustomFieldDefinition[],
): Map<string, FieldDefinition | undefined> {
  const checks = new Map<string, FieldDefinition | undefined>();
  if (!Array.isArray(defs)) return checks;
  const parent = model.name.toLowerCase();
  for (const def of defs) {
    if (!isDefinition(def) || def.model.toLowerCase() !== parent) continue;
    if (!checks.has(def.name)) checks.set(def.name, customTypeCheck(def.type));
  }
  return checks;
}

// Definitions come from stored rows; a malformed one is skipped, not trusted.
function isDefinition(def: unknown): def is CustomFieldDefinition {
  return (
    isPlainObject(def) &&
    typeof def.model === 'string' &&
    typeof def.name === 'string' &&
    typeof def.type === 'string'
  );
}

/**
 * Custom values are checked against the definition of the same name on the
 * model. A value without a definition (or whose type is unknown here) is kept
 * as free-form JSON, capped in depth and string length: Planhat documents no
 * rejection of such values, so refusing them could break clients that work
 * against Planhat. Planhat's legacy docs describe custom values as flat
 * strings, numbers, booleans and dates, but declared types such as
 * multipicklist hold arrays, so arrays and objects are kept too. `null` clears
 * one value; `custom: null` is read as "no custom values", not as an error.
 */
function checkCustom(
  model: ModelDefinition,
  raw: unknown,
  defs: readonly CustomFieldDefinition[],
  ctx: Context,
): Checked<JsonObject> {
  if (raw === null) return {};
  if (!isPlainObject(raw)) return fail(ctx, 'custom', 'invalid_type', 'custom must be an object');

  const checks = customChecksFor(model, defs);
  const custom: JsonObject = {};
  let valid = true;
  for (const name of Object.keys(raw)) {
    if (ctx.errors.length >= MAX_ERRORS) break;
    const value = raw[name];
    const path = `custom.${name}`;
    if (value === undefined) continue;
    if (UNSAFE_KEYS.has(name)) {
      ctx.ignored.push(path);
      continue;
    }
    const check = checks.get(name);
    const checked =
      value === null
        ? null
        : check === undefined
          ? sanitizeJson(path, value, 1, ctx)
          : checkField(path, check, value, ctx);
    if (checked === INVALID) valid = false;
    else custom[name] = checked;
  }
  return valid ? custom : INVALID;
}

/**
 * The record after a validated partial update: top-level fields replace the
 * stored ones, `custom` values merge name by name, and derived fields (an end
 * user's `name`) follow their sources unless the update sets them or the stored
 * value was written by hand.
 */
export function mergeUpdate(
  model: ModelDefinition,
  existing: Readonly<JsonObject>,
  patch: Readonly<JsonObject>,
): JsonObject {
  const merged = copyOwn(existing);
  // Custom values merge, so updating one of them leaves the rest alone.
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === undefined || UNSAFE_KEYS.has(key)) continue;
    const stored = merged[key];
    const isCustom = getField(model, key)?.type === 'custom';
    merged[key] =
      isCustom && isPlainObject(value) && isPlainObject(stored)
        ? { ...copyOwn(stored), ...copyOwn(value) }
        : value;
  }

  for (const derived of model.derived) {
    if (!isBlank(patch[derived.field])) continue;
    if (!derived.from.some((source) => Object.hasOwn(patch, source))) continue;
    const stored = existing[derived.field];
    const wasDerived = isBlank(stored) || stored === compose(existing, derived.from);
    if (!wasDerived) continue;
    const composed = compose(merged, derived.from);
    if (composed === undefined) delete merged[derived.field];
    else merged[derived.field] = composed;
  }
  return merged;
}

function copyOwn(source: Readonly<Record<string, JsonValue>>): JsonObject {
  const copy: JsonObject = {};
  for (const key of Object.keys(source)) {
    const value = source[key];
    if (value !== undefined && !UNSAFE_KEYS.has(key)) copy[key] = value;
  }
  return copy;
}

export type RecordKey =
  | { readonly kind: 'id'; readonly value: string }
  | { readonly kind: 'externalId'; readonly value: string }
  | { readonly kind: 'sourceId'; readonly value: string }
  | { readonly kind: 'invalid' };

const INVALID_KEY: RecordKey = Object.freeze({ kind: 'invalid' });
const MAX_KEY_LENGTH = MAX_STRING_LENGTH + 'extid-'.length;

/**
 * Reads a record key as Planhat writes it in paths and references: a 24-hex
 * `_id` (returned in lower case), `extid-<externalId>` or `srcid-<sourceId>`.
 *
 * With `'uri'` (the default) the key is percent-decoded first, for a raw path
 * segment. Pass `'plain'` for text that is already decoded: router params,
 * query values and body references. Decoding twice would corrupt ids that
 * contain `%`.
 */
export function parseRecordKey(key: string, encoding: 'uri' | 'plain' = 'uri'): RecordKey {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH * 3) {
    return INVALID_KEY;
  }
  let text = key;
  if (encoding === 'uri') {
    try {
      text = decodeURIComponent(key);
    } catch {
      return INVALID_KEY;
    }
  }
  if (text.length > MAX_KEY_LENGTH) return INVALID_KEY;

  if (OBJECT_ID.test(text)) return { kind: 'id', value: text.toLowerCase() };
  if (text.startsWith('extid-') && text.length > 'extid-'.length) {
    return { kind: 'externalId', value: text.slice('extid-'.length) };
  }
  if (text.startsWith('srcid-') && text.length > 'srcid-'.length) {
    return { kind: 'sourceId', value: text.slice('srcid-'.length) };
  }
  return INVALID_KEY;
}

/**
 * A new `_id` in MongoDB ObjectId shape: 4 bytes of seconds since the epoch
 * (big-endian, so ids sort by creation time) then 8 random bytes.
 */
export function newObjectId(now: number | Date = Date.now()): string {
  const time = typeof now === 'number' ? now : now.getTime();
  if (!Number.isFinite(time)) throw new RangeError('newObjectId needs a finite time');
  const seconds = Math.min(Math.max(Math.floor(time / 1000), 0), 0xffff_ffff);
  return seconds.toString(16).padStart(8, '0') + randomHex16();
}

// Bulk writes make thousands of ids at a time; one CSPRNG call fills 512 of them.
const RANDOM_POOL_BYTES = 4096;
let randomPool = Buffer.alloc(0);
let randomOffset = 0;

function randomHex16(): string {
  if (randomOffset + 8 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomOffset = 0;
  }
  const hex = randomPool.toString('hex', randomOffset, randomOffset + 8);
  randomOffset += 8;
  return hex;
}

/**
 * The record reduced to `select` (from `parseListQuery`), always keeping `_id`.
 * Entries `custom.<name>` pick single custom values. Without `select`, a
 * shallow copy of the record.
 */
export function applySelect(
  record: Readonly<Record<string, unknown>>,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  const copyField = (key: string): void => {
    if (!UNSAFE_KEYS.has(key) && Object.hasOwn(record, key)) picked[key] = record[key];
  };

  if (select === undefined) {
    for (const key of Object.keys(record)) copyField(key);
    return picked;
  }

  copyField('_id');
  for (const entry of select) {
    if (!entry.startsWith('custom.')) copyField(entry);
  }

  // Single custom values matter only when `custom` as a whole is not selected.
  const custom = record.custom;
  if (Object.hasOwn(picked, 'custom') || !isPlainObject(custom)) return picked;
  const values: Record<string, unknown> = {};
  let found = false;
  for (const entry of select) {
    const name = entry.startsWith('custom.') ? entry.slice('custom.'.length) : '';
    if (name === '' || UNSAFE_KEYS.has(name) || !Object.hasOwn(custom, name)) continue;
    values[name] = custom[name];
    found = true;
  }
  if (found) picked.custom = values;
  return picked;
}

export interface SortOrder {
  readonly field: string;
  readonly direction: 'asc' | 'desc';
}

/**
 * An equality filter: a record matches when `field` equals one of `values`, or,
 * for an array field such as an issue's `companyIds`, contains one of them.
 * `companyId` values are record keys (ObjectId, `extid-`, `srcid-`) for the
 * storage layer to resolve.
 */
export interface ListFilter {
  readonly param: ListFilterParam;
  readonly field: string;
  readonly values: readonly string[];
}

export interface ListQuery {
  readonly limit: number;
  readonly offset: number;
  readonly sort: SortOrder;
  /** Fields to return, `_id` first; undefined returns every field. */
  readonly select: readonly string[] | undefined;
  readonly filters: readonly ListFilter[];
  /** Parameters not understood, or filtering a field the model lacks. */
  readonly ignoredParams: readonly string[];
}

export type ListQueryResult =
  | { readonly ok: true; readonly value: ListQuery }
  | { readonly ok: false; readonly errors: readonly ValidationIssue[] };

const PAGING_PARAMS = new Set(['limit', 'offset', 'sort', 'select']);
const FILTER_PARAMS: readonly ListFilterParam[] = [
  'companyId',
  'email',
  'externalId',
  'sourceId',
  'status',
  'type',
];
// Values of these never contain commas, so a comma separates several of them.
const COMMA_LIST_PARAMS = new Set<string>(['companyId', 'status', 'type']);

/**
 * Reads the query string of `GET /{model}` (or of the lean company list with `{
 * view: 'lean' }`) as parsed by the router: each value a string or an array of
 * strings. Limits above the model's cap are clamped, since clients ask for more
 * than one page.
 */
export function parseListQuery(
  model: ModelDefinition,
  query: unknown,
  options: { readonly view?: 'full' | 'lean' } = {},
): ListQueryResult {
  const lean = options.view === 'lean' ? model.leanView : undefined;
  const limits = lean?.listLimits ?? model.listLimits;
  const filterFields = lean?.listFilters ?? model.listFilters;
  const params = isPlainObject(query) ? query : {};
  const ctx: Context = { errors: [], ignored: [] };

  const limit = readCount(params, 'limit', ctx, 1);
  const offset = readCount(params, 'offset', ctx, 0);
  const sort = readSort(model, params, ctx);
  const select = readSelect(params, lean?.fields, ctx);

  const filters: ListFilter[] = [];
  const ignoredParams: string[] = [];
  for (const param of Object.keys(params)) {
    if (PAGING_PARAMS.has(param)) continue;
    const field = isFilterParam(param) ? filterFields[param] : undefined;
    if (!isFilterParam(param) || field === undefined) {
      ignoredParams.push(param);
      continue;
    }
    const values = readFilterValues(param, params[param], ctx);
    if (values !== INVALID && values.length > 0) filters.push({ param, field, values });
  }

  if (limit === INVALID || offset === INVALID || sort === INVALID || select === INVALID) {
    return { ok: false, errors: ctx.errors };
  }
  if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors };

  return {
    ok: true,
    value: {
      limit: Math.min(limit ?? limits.default, limits.max),
      offset: offset ?? 0,
      sort,
      select,
      filters,
      ignoredParams,
    },
  };
}

/** The parameter's texts: one, or each value of a repeated parameter. */
function readTexts(name: string, raw: unknown, ctx: Context): Checked<string[]> {
  const texts = Array.isArray(raw) ? raw : [raw];
  const result: string[] = [];
  for (const text of texts) {
    if (typeof text !== 'string') return mustBe(ctx, name, 'text');
    if (text.length > MAX_QUERY_VALUE_LENGTH) {
      return fail(
        ctx,
        name,
        'too_long',
        `${name} must be at most ${MAX_QUERY_VALUE_LENGTH} characters`,
      );
    }
    result.push(text);
  }
  return result;
}

function readSingle(
  params: Record<string, unknown>,
  name: string,
  ctx: Context,
): Checked<string | undefined> {
  if (!Object.hasOwn(params, name) || params[name] === undefined) return undefined;
  const texts = readTexts(name, params[name], ctx);
  if (texts === INVALID) return INVALID;
  if (texts.length > 1) return fail(ctx, name, 'invalid_value', `${name} must be given once`);
  const text = texts[0]?.trim() ?? '';
  return text === '' ? undefined : text;
}

function readCount(
  params: Record<string, unknown>,
  name: 'limit' | 'offset',
  ctx: Context,
  min: number,
): Checked<number | undefined> {
  const text = readSingle(params, name, ctx);
  if (text === INVALID || text === undefined) return text;
  const count = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(count >= min) || (name === 'offset' && !Number.isSafeInteger(count))) {
    const kind = min > 0 ? 'a positive whole number' : 'a whole number of 0 or more';
    return fail(ctx, name, 'invalid_value', `${name} must be ${kind}`);
  }
  return count;
}

function readSort(
  model: ModelDefinition,
  params: Record<string, unknown>,
  ctx: Context,
): Checked<SortOrder> {
  const text = readSingle(params, 'sort', ctx) ?? model.defaultSort;
  if (text === INVALID) return INVALID;
  const descending = text.startsWith('-');
  const field = descending ? text.slice(1) : text;
  if (!isSortable(model, field)) {
    return fail(ctx, 'sort', 'invalid_value', `sort must name a field of ${model.name}`);
  }
  return { field, direction: descending ? 'desc' : 'asc' };
}

function isSortable(model: ModelDefinition, field: string): boolean {
  if (field.startsWith('custom.')) {
    const name = field.slice('custom.'.length);
    return name !== '' && !UNSAFE_KEYS.has(name) && getField(model, 'custom') !== undefined;
  }
  return !UNSAFE_KEYS.has(field) && getField(model, field) !== undefined;
}

/**
 * Unknown names are kept rather than rejected: they select nothing, as in
 * Planhat. The lean view only ever returns its own fields.
 */
function readSelect(
  params: Record<string, unknown>,
  leanFields: readonly string[] | undefined,
  ctx: Context,
): Checked<string[] | undefined> {
  const raw = Object.hasOwn(params, 'select') ? params.select : undefined;
  const texts = raw === undefined ? [] : readTexts('select', raw, ctx);
  if (texts === INVALID) return INVALID;

  const names = texts
    .flatMap((text) => text.split(','))
    .map((name) => name.trim())
    .filter((name) => name !== '' && !UNSAFE_KEYS.has(name));
  const wanted =
    leanFields === undefined ? names : names.filter((name) => leanFields.includes(name));
  if (wanted.length === 0) return leanFields === undefined ? undefined : [...leanFields];
  return [...new Set(['_id', ...wanted])];
}

function isFilterParam(param: string): param is ListFilterParam {
  return (FILTER_PARAMS as readonly string[]).includes(param);
}

function readFilterValues(param: string, raw: unknown, ctx: Context): Checked<string[]> {
  const texts = readTexts(param, raw, ctx);
  if (texts === INVALID) return INVALID;
  const values = (COMMA_LIST_PARAMS.has(param) ? texts.flatMap((text) => text.split(',')) : texts)
    .map((value) => value.trim())
    .filter((value) => value !== '');
  if (param !== 'companyId') return [...new Set(values)];

  const keys: string[] = [];
  for (const value of values) {
    const key = parseRecordKey(value, 'plain');
    if (key.kind === 'invalid') {
      return fail(ctx, param, 'invalid_reference', COMPANY_FILTER_MESSAGE);
    }
    keys.push(key.kind === 'id' ? key.value : value);
  }
  return [...new Set(keys)];
}
