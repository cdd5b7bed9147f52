import type { Principal } from '../auth/principal.js';
import { missingPermission } from '../shared/errors.js';
import {
  can,
  missingGrants,
  type Action,
  type Model,
  type PermissionSet,
} from './permission-set.js';

/** Throws a 403 naming the permission, such as `requires Company.update`. */
export function requirePermission(principal: Principal, model: Model, action: Action): void {
  if (!can(principal.permissions, model, action)) {
    throw missingPermission(`${model}.${action}`);
  }
}

/** Refuses to hand out any grant the principal does not itself hold. */
export function requireNoEscalation(principal: Principal, wanted: PermissionSet): void {
  const [first, ...rest] = missingGrants(principal.permissions, wanted);
  if (first === undefined) return;
  const error = missingPermission(first);
  if (rest.length > 0) {
    Object.assign(error, { details: { missing: [first, ...rest] } });
  }
  throw error;
}
