import {
  ACTIONS,
  MODELS,
  allActions,
  can,
  emptyPermissions,
  isModel,
  type Action,
  type Grant,
  type PermissionSet,
} from '../permissions/permission-set.js';
import type { PermissionUsage, RefusedPermission } from './request-log.repository.js';

export interface PermissionSuggestion {
  /** The smallest set that would have allowed every successful request in the window. */
  suggested: PermissionSet;
  /** Grants the app holds that no successful request in the window used. */
  unused: Grant[];
  /** Permissions requests were refused for lacking, with how often. */
  refused: RefusedPermission[];
  /** Each grant the suggestion keeps, with how many requests used it. */
  used: Array<{ permission: Grant; count: number }>;
}

/**
 * Builds the suggestion from an app's recorded usage. Field rules the app already has are
 * kept for the models it keeps: they only ever narrow, so keeping them never widens access.
 */
export function suggestPermissions(
  current: PermissionSet,
  usage: readonly PermissionUsage[],
  refused: readonly RefusedPermission[],
): PermissionSuggestion {
  const suggested = emptyPermissions();
  const counts = new Map<Grant, number>();
  for (const row of usage) {
    if (!isModel(row.model)) continue;
    for (const action of row.action.split(',')) {
      if (!isAction(action)) continue;
      const actions = (suggested.models[row.model] ??= allActions(false));
      actions[action] = true;
      const grant: Grant = `${row.model}.${action}`;
      counts.set(grant, (counts.get(grant) ?? 0) + row.count);
    }
  }
  for (const model of MODELS) {
    const rules = current.fields[model];
    if (suggested.models[model] !== undefined && rules !== undefined) {
      suggested.fields[model] = { ...rules };
    }
  }

  const unused: Grant[] = [];
  const used: PermissionSuggestion['used'] = [];
  for (const model of MODELS) {
    for (const action of ACTIONS) {
      const grant: Grant = `${model}.${action}`;
      if (can(suggested, model, action))
        used.push({ permission: grant, count: counts.get(grant) ?? 0 });
      else if (can(current, model, action)) unused.push(grant);
    }
  }
  return { suggested, unused, refused: [...refused], used };
}

function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}
