import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Schema } from '../db/schema.js';
import { requireNoEscalation, requirePermission } from '../permissions/authorize.js';
import { diffPermissions, type PermissionSet } from '../permissions/permission-set.js';
import { AppError, notFound } from '../shared/errors.js';
import { newId, nowIso } from '../shared/ids.js';
import * as roles from './role.repository.js';

export type { Role } from './role.repository.js';

export async function listRoles(db: Kysely<Schema>, principal: Principal) {
  requirePermission(principal, 'Role', 'view');
  return roles.listRoles(db, principal.workspaceId);
}

export async function getRole(db: Kysely<Schema>, principal: Principal, id: string) {
  requirePermission(principal, 'Role', 'view');
  const role = await roles.findRole(db, principal.workspaceId, id);
  if (role === undefined) throw notFound('role');
  return role;
}

export interface RoleInput {
  name: string;
  description?: string;
  permissions: PermissionSet;
}

export async function createRole(db: Kysely<Schema>, principal: Principal, input: RoleInput) {
  requirePermission(principal, 'Role', 'create');
  requireNoEscalation(principal, input.permissions);

  const id = newId();
  await db.transaction().execute(async (trx) => {
    await assertNameFree(trx, principal.workspaceId, input.name);
    await roles.insertRole(trx, {
      id,
      workspaceId: principal.workspaceId,
      name: input.name,
      description: input.description ?? '',
      permissions: input.permissions,
      builtin: false,
      now: nowIso(),
    });
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: 'role.create',
      targetType: 'Role',
      targetId: id,
      changes: { name: input.name, permissions: diffPermissions(emptySet(), input.permissions) },
    });
  });
  return getRole(db, principal, id);
}

export async function updateRole(
  db: Kysely<Schema>,
  principal: Principal,
  id: string,
  input: Partial<RoleInput>,
) {
  requirePermission(principal, 'Role', 'update');
  if (input.permissions !== undefined) requireNoEscalation(principal, input.permissions);

  await db.transaction().execute(async (trx) => {
    const before = await roles.findRole(trx, principal.workspaceId, id);
    if (before === undefined) throw notFound('role');
    if (input.name !== undefined && input.name !== before.name) {
      await assertNameFree(trx, principal.workspaceId, input.name);
    }
    await roles.updateRole(trx, principal.workspaceId, id, { ...input, now: nowIso() });
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: 'role.update',
      targetType: 'Role',
      targetId: id,
      changes: {
        ...(input.name !== undefined && input.name !== before.name
          ? { name: { from: before.name, to: input.name } }
          : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.permissions !== undefined
          ? { permissions: diffPermissions(before.permissions, input.permissions) }
          : {}),
      },
    });
  });
  return getRole(db, principal, id);
}

/**
 * Deletes a role. A role that members hold is refused unless `moveTo` names the role
 * they move to, so no member silently loses access.
 */
export async function deleteRole(
  db: Kysely<Schema>,
  principal: Principal,
  id: string,
  moveTo: string | undefined,
) {
  requirePermission(principal, 'Role', 'remove');
  await db.transaction().execute(async (trx) => {
    const role = await roles.findRole(trx, principal.workspaceId, id);
    if (role === undefined) throw notFound('role');
    if (role.memberCount > 0) {
      if (moveTo === undefined) {
        throw new AppError('conflict', {
          field: 'moveTo',
          message: `role ${role.name} has ${role.memberCount} members; pass moveTo with another role id`,
        });
      }
      const target = await roles.findRole(trx, principal.workspaceId, moveTo);
      if (target === undefined || target.id === id) throw notFound('moveTo role');
      requireNoEscalation(principal, target.permissions);
      await roles.moveRoleMembers(trx, principal.workspaceId, id, target.id);
    }
    await roles.deleteRole(trx, principal.workspaceId, id);
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: 'role.delete',
      targetType: 'Role',
      targetId: id,
      changes: { name: role.name, ...(moveTo !== undefined ? { membersMovedTo: moveTo } : {}) },
    });
  });
}

async function assertNameFree(
  executor: Parameters<typeof roles.findRoleByName>[0],
  workspaceId: string,
  name: string,
) {
  if ((await roles.findRoleByName(executor, workspaceId, name)) !== undefined) {
    throw new AppError('conflict', { field: 'name', message: `a role named ${name} exists` });
  }
}

function emptySet(): PermissionSet {
  return { models: {}, fields: {} };
}
