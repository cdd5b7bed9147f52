import type { FieldAccess } from '../permissions/permission-set.js';

/**
 * Field-level permissions for one model, as held in
 * `PermissionSet.fields[Model]`. A field without a rule is writable (the
 * model-level actions still apply). Custom values are named `custom.<name>`; a
 * rule on `custom` itself covers every custom value, and when both apply the
 * stricter one wins, so hiding `custom` can never be undone field by field.
 */
export type FieldRules = Readonly<Record<string, FieldAccess>>;

const RANK: Readonly<Record<FieldAccess, number>> = { hidden: 0, read: 1, write: 2 };
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const CUSTOM_PREFIX = 'custom.';

function ruleFor(rules: FieldRules | undefined, field: string): FieldAccess {
  if (rules === undefined || !Object.hasOwn(rules, field)) return 'write';
  const access: unknown = rules[field];
  // Rules come from stored settings: an unknown value hides, never opens.
  return access === 'write' || access === 'read' ? access : 'hidden';
}

/** The access to `field`: a top-level name, or `custom.<name>`. */
export function accessTo(field: string, rules: FieldRules | undefined): FieldAccess {
  // A record without its key can be neither addressed nor matched.
  if (field === '_id') return 'read';
  const own = ruleFor(rules, field);
  if (!field.startsWith(CUSTOM_PREFIX)) return own;
  const whole = ruleFor(rules, 'custom');
  return RANK[whole] < RANK[own] ? whole : own;
}

export function isHidden(field: string, rules: FieldRules | undefined): boolean {
  return accessTo(field, rules) === 'hidden';
}

/**
 * A copy of `record` without the fields, and custom values, that the rules
 * hide. Apply it to every record a principal reads: single reads, lists,
 * exports and upsert echoes.
 */
export function redactHidden(
  record: Readonly<Record<string, unknown>>,
  rules: FieldRules | undefined,
): Record<string, unknown> {
  const visible: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    if (UNSAFE_KEYS.has(key) || isHidden(key, rules)) continue;
    const value = record[key];
    visible[key] = key === 'custom' && isObject(value) ? redactCustom(value, rules) : value;
  }
  return visible;
}

function redactCustom(
  custom: Readonly<Record<string, unknown>>,
  rules: FieldRules | undefined,
): Record<string, unknown> {
  const visible: Record<string, unknown> = {};
  for (const name of Object.keys(custom)) {
    if (UNSAFE_KEYS.has(name) || isHidden(CUSTOM_PREFIX + name, rules)) continue;
    visible[name] = custom[name];
  }
  return visible;
}

/**
 * The fields `body` writes that the rules do not let the principal write
 * (read-only or hidden), in body order. Pass the validated value, so that
 * fields validation already ignored are not reported. An empty list means the
 * write may go ahead.
 */
export function findReadOnlyWrites(
  body: Readonly<Record<string, unknown>>,
  rules: FieldRules | undefined,
): string[] {
  if (rules === undefined) return [];
  const denied: string[] = [];
  for (const key of Object.keys(body)) {
    if (UNSAFE_KEYS.has(key) || key === '_id') continue;
    const value = body[key];
    if (key === 'custom' && isObject(value)) {
      for (const name of Object.keys(value)) {
        const field = CUSTOM_PREFIX + name;
        if (!UNSAFE_KEYS.has(name) && accessTo(field, rules) !== 'write') denied.push(field);
      }
      continue;
    }
    if (accessTo(key, rules) !== 'write') denied.push(key);
  }
  return denied;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
