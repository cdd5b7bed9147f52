import {
  ACTIONS,
  FIELD_ACCESS,
  INTERNAL_MODELS,
  RECORD_MODELS,
  allActions,
  can,
  type Action,
  type FieldAccess,
  type Model,
  type PermissionSet,
} from '../../src/permissions/permission-set.js';

export { ACTIONS, FIELD_ACCESS, INTERNAL_MODELS, RECORD_MODELS, can };
export type { Action, FieldAccess, Model, PermissionSet };

export const ACTION_LABELS: Record<Action, string> = {
  create: 'Create',
  view: 'View',
  update: 'Update',
  remove: 'Remove',
  export: 'Export',
};

/** What the internal models guard, for people who do not know the model names. */
export const MODEL_NOTES: Partial<Record<Model, string>> = {
  ServiceAccount: 'private apps and their tokens',
  User: 'team members',
  Role: 'roles',
  Settings: 'workspace settings and the Tenant Token',
};

const ACCESS_RANK: Record<FieldAccess, number> = { hidden: 0, read: 1, write: 2 };

export function accessAllowed(holderAccess: FieldAccess, wanted: FieldAccess): boolean {
  return ACCESS_RANK[wanted] <= ACCESS_RANK[holderAccess];
}

/**
 * The same grants in one spelling: models granting nothing and empty rule lists dropped,
 * keys sorted. Two sets are equal when their canonical JSON is.
 */
export function canonical(set: PermissionSet): PermissionSet {
  const result: PermissionSet = { models: {}, fields: {} };
  for (const model of [...RECORD_MODELS, ...INTERNAL_MODELS].sort()) {
    const actions = set.models[model];
    if (actions !== undefined && ACTIONS.some((action) => actions[action])) {
      const copy = allActions(false);
      for (const action of ACTIONS) copy[action] = actions[action];
      result.models[model] = copy;
    }
    const rules = set.fields[model];
    if (rules !== undefined && Object.keys(rules).length > 0) {
      result.fields[model] = Object.fromEntries(
        Object.entries(rules).sort(([a], [b]) => a.localeCompare(b)),
      );
    }
  }
  return result;
}

export function samePermissions(a: PermissionSet, b: PermissionSet): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * Sets actions on a model. Granting a model for the first time also copies the field limits
 * the holder works under, since a set may not open fields its granter cannot.
 */
export function withActions(
  set: PermissionSet,
  model: Model,
  changes: Partial<Record<Action, boolean>>,
  holder: PermissionSet,
): PermissionSet {
  const before = set.models[model];
  const actions = { ...allActions(false), ...before, ...changes };
  const fields = { ...set.fields };
  const holderRules = holder.fields[model];
  const wasGranted = before !== undefined && ACTIONS.some((action) => before[action]);
  if (!wasGranted && holderRules !== undefined) {
    fields[model] = { ...holderRules, ...fields[model] };
  }
  return { models: { ...set.models, [model]: actions }, fields };
}

export function withFieldRule(
  set: PermissionSet,
  model: Model,
  field: string,
  access: FieldAccess | undefined,
): PermissionSet {
  const rules = { ...set.fields[model] };
  if (access === undefined) delete rules[field];
  else rules[field] = access;
  return { models: set.models, fields: { ...set.fields, [model]: rules } };
}

/** `Company.view`-style names of every action grant, for short summaries. */
export function listGrants(set: PermissionSet): string[] {
  const grants: string[] = [];
  for (const model of [...RECORD_MODELS, ...INTERNAL_MODELS]) {
    for (const action of ACTIONS) if (can(set, model, action)) grants.push(`${model}.${action}`);
  }
  return grants;
}
