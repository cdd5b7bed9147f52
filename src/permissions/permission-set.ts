/**
 * The one permission shape, shared by roles and private apps: five actions per data model,
 * plus optional per-field rules. A model missing from `models` grants nothing; a model
 * missing from `fields` has no field restrictions.
 */
export const ACTIONS = ['create', 'view', 'update', 'remove', 'export'] as const;
export type Action = (typeof ACTIONS)[number];

export const RECORD_MODELS = [
  'Company',
  'EndUser',
  'Conversation',
  'License',
  'Invoice',
  'Issue',
  'Task',
  'Opportunity',
  'Project',
  'Asset',
  'Campaign',
  'Churn',
  'Nps',
  'Objective',
  'Sale',
  'Workspace',
  'CustomField',
  'Ticket',
  'UserActivity',
  'DimensionData',
] as const;

/** Models that guard App Center itself rather than workspace records. */
export const INTERNAL_MODELS = ['ServiceAccount', 'User', 'Role', 'Settings'] as const;

export const MODELS = [...RECORD_MODELS, ...INTERNAL_MODELS] as const;
export type Model = (typeof MODELS)[number];

export const FIELD_ACCESS = ['hidden', 'read', 'write'] as const;
export type FieldAccess = (typeof FIELD_ACCESS)[number];

export type ActionSet = Record<Action, boolean>;

export interface PermissionSet {
  models: Partial<Record<Model, ActionSet>>;
  fields: Partial<Record<Model, Record<string, FieldAccess>>>;
}

/** A permission as people read it and as 403 messages name it: `Company.update`. */
export type Grant = `${Model}.${Action}` | `${Model}.${string}.${FieldAccess}`;

export function isModel(value: string): value is Model {
  return (MODELS as readonly string[]).includes(value);
}

export function emptyPermissions(): PermissionSet {
  return { models: {}, fields: {} };
}

export function allActions(value = true): ActionSet {
  return { create: value, view: value, update: value, remove: value, export: value };
}

export function fullPermissions(): PermissionSet {
  const models: PermissionSet['models'] = {};
  for (const model of MODELS) models[model] = allActions();
  return { models, fields: {} };
}

export function can(set: PermissionSet, model: Model, action: Action): boolean {
  return set.models[model]?.[action] === true;
}

export function fieldAccess(set: PermissionSet, model: Model, field: string): FieldAccess {
  return set.fields[model]?.[field] ?? 'write';
}

const ACCESS_RANK: Record<FieldAccess, number> = { hidden: 0, read: 1, write: 2 };

/** The permissions of holding every set at once, as a member holding several roles does. */
export function unionPermissions(sets: readonly PermissionSet[]): PermissionSet {
  const result = emptyPermissions();
  for (const model of MODELS) {
    const granting = sets.filter((set) => set.models[model] !== undefined);
    if (granting.length === 0) continue;
    const actions = allActions(false);
    for (const set of granting) {
      for (const action of ACTIONS) actions[action] ||= set.models[model]?.[action] === true;
    }
    result.models[model] = actions;

    // A set that grants the model without field rules leaves every field open, so the
    // union keeps only rules that every granting set imposes, at their loosest.
    if (granting.some((set) => set.fields[model] === undefined)) continue;
    const rules: Record<string, FieldAccess> = {};
    const fieldNames = new Set(granting.flatMap((set) => Object.keys(set.fields[model] ?? {})));
    for (const field of fieldNames) {
      const loosest = granting
        .map((set) => fieldAccess(set, model, field))
        .reduce((a, b) => (ACCESS_RANK[a] >= ACCESS_RANK[b] ? a : b));
      if (loosest !== 'write') rules[field] = loosest;
    }
    if (Object.keys(rules).length > 0) result.fields[model] = rules;
  }
  return result;
}

/**
 * Every grant in `wanted` that `holder` does not have. Empty means `holder` may hand out
 * `wanted`: the rule that stops anyone creating a role or app stronger than themselves.
 */
export function missingGrants(holder: PermissionSet, wanted: PermissionSet): Grant[] {
  const missing: Grant[] = [];
  for (const model of MODELS) {
    for (const action of ACTIONS) {
      if (can(wanted, model, action) && !can(holder, model, action)) {
        missing.push(`${model}.${action}`);
      }
    }
    if (wanted.models[model] === undefined) continue;
    const holderRules = holder.fields[model] ?? {};
    for (const [field, access] of Object.entries(holderRules)) {
      const wantedAccess = fieldAccess(wanted, model, field);
      if (ACCESS_RANK[wantedAccess] > ACCESS_RANK[access]) {
        missing.push(`${model}.${field}.${wantedAccess}`);
      }
    }
  }
  return missing;
}

/** What changed between two sets, for audit events: grants added and grants taken away. */
export function diffPermissions(
  before: PermissionSet,
  after: PermissionSet,
): { granted: Grant[]; revoked: Grant[] } {
  return { granted: listGrants(after, before), revoked: listGrants(before, after) };
}

function listGrants(set: PermissionSet, minus: PermissionSet): Grant[] {
  const grants: Grant[] = [];
  for (const model of MODELS) {
    for (const action of ACTIONS) {
      if (can(set, model, action) && !can(minus, model, action)) grants.push(`${model}.${action}`);
    }
    for (const [field, access] of Object.entries(set.fields[model] ?? {})) {
      if (minus.fields[model]?.[field] !== access) grants.push(`${model}.${field}.${access}`);
    }
  }
  return grants;
}

/** Rebuilds a set from stored or submitted JSON, keeping only known models and values. */
export function normalizePermissions(input: unknown): PermissionSet {
  const result = emptyPermissions();
  if (!isRecord(input)) return result;
  const models = isRecord(input.models) ? input.models : {};
  const fields = isRecord(input.fields) ? input.fields : {};
  for (const model of MODELS) {
    const actions = models[model];
    if (isRecord(actions)) {
      const set = allActions(false);
      for (const action of ACTIONS) set[action] = actions[action] === true;
      result.models[model] = set;
    }
    const rules = fields[model];
    if (!isRecord(rules)) continue;
    const kept: Record<string, FieldAccess> = {};
    for (const [field, access] of Object.entries(rules)) {
      const known = FIELD_ACCESS.find((candidate) => candidate === access);
      if (known !== undefined) kept[field] = known;
    }
    if (Object.keys(kept).length > 0) result.fields[model] = kept;
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
