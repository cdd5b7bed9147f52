import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Executor } from '../db/database.js';
import type { Schema } from '../db/schema.js';
import { requireNoEscalation, requirePermission } from '../permissions/authorize.js';
import { unionPermissions, type PermissionSet } from '../permissions/permission-set.js';
import * as roles from '../roles/role.repository.js';
import { AppError, invalidField, notFound } from '../shared/errors.js';
import { newId, nowIso } from '../shared/ids.js';
import * as members from './member.repository.js';
import { generatePassword, hashPassword, type ScryptCost } from './password.js';

export type { Member } from './member.repository.js';

/** A member's effective permissions: the union of every role they hold. */
export async function memberPermissions(
  executor: Executor,
  workspaceId: string,
  roleIds: readonly string[],
): Promise<PermissionSet> {
  const workspaceRoles = await roles.listRoles(executor, workspaceId);
  const held = workspaceRoles.filter((role) => roleIds.includes(role.id));
  return unionPermissions(held.map((role) => role.permissions));
}

export async function listMembers(db: Kysely<Schema>, principal: Principal) {
  requirePermission(principal, 'User', 'view');
  return members.listMembers(db, principal.workspaceId);
}

export async function getMember(db: Kysely<Schema>, principal: Principal, id: string) {
  requirePermission(principal, 'User', 'view');
  const member = await members.findMember(db, principal.workspaceId, id);
  if (member === undefined) throw notFound('team member');
  return member;
}

export interface AddMemberInput {
  email: string;
  firstName?: string;
  lastName?: string;
  nickname?: string;
  password?: string;
  roleIds: string[];
}

/** Adds a member; a generated password is returned once when none was given. */
export async function addMember(
  db: Kysely<Schema>,
  principal: Principal,
  input: AddMemberInput,
  cost?: ScryptCost,
) {
  requirePermission(principal, 'User', 'create');
  const password = input.password ?? generatePassword();
  const passwordHash = await hashPassword(password, cost);
  const id = newId();

  await db.transaction().execute(async (trx) => {
    await assertGrantableRoles(trx, principal, input.roleIds);
    if (await members.emailTaken(trx, input.email)) {
      throw new AppError('conflict', { field: 'email', message: 'email is already a member' });
    }
    await members.insertMember(trx, {
      id,
      workspaceId: principal.workspaceId,
      email: input.email,
      firstName: input.firstName ?? '',
      lastName: input.lastName ?? '',
      nickname: input.nickname ?? '',
      passwordHash,
      roleIds: input.roleIds,
      now: nowIso(),
    });
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: 'member.create',
      targetType: 'User',
      targetId: id,
      changes: { email: input.email, roleIds: input.roleIds },
    });
  });

  const member = await getMember(db, principal, id);
  return { member, password: input.password === undefined ? password : undefined };
}

export interface UpdateMemberInput {
  email?: string;
  firstName?: string;
  lastName?: string;
  nickname?: string;
  inactive?: boolean;
  password?: string;
  roleIds?: string[];
}

export async function updateMember(
  db: Kysely<Schema>,
  principal: Principal,
  id: string,
  input: UpdateMemberInput,
  cost?: ScryptCost,
) {
  requirePermission(principal, 'User', 'update');
  const passwordHash =
    input.password === undefined ? undefined : await hashPassword(input.password, cost);

  await db.transaction().execute(async (trx) => {
    const before = await members.findMember(trx, principal.workspaceId, id);
    if (before === undefined) throw notFound('team member');
    if (principal.kind === 'member' && principal.actor.id === id && input.inactive === true) {
      throw invalidField('inactive', 'cannot be set on your own account');
    }
    if (
      input.email !== undefined &&
      members.emailKey(input.email) !== members.emailKey(before.email)
    ) {
      if (await members.emailTaken(trx, input.email)) {
        throw new AppError('conflict', { field: 'email', message: 'email is already a member' });
      }
    }
    if (input.roleIds !== undefined) {
      await assertGrantableRoles(trx, principal, input.roleIds);
      await members.setMemberRoles(trx, principal.workspaceId, id, input.roleIds);
    }
    const { password: _password, roleIds: _roleIds, ...fields } = input;
    await members.updateMember(
      trx,
      principal.workspaceId,
      id,
      { ...fields, passwordHash },
      nowIso(),
    );
    if (input.inactive === true || passwordHash !== undefined) {
      // Deactivating or resetting a password must end every open session at once.
      await trx
        .deleteFrom('sessions')
        .where('workspace_id', '=', principal.workspaceId)
        .where('member_id', '=', id)
        .execute();
    }
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: input.inactive === true ? 'member.deactivate' : 'member.update',
      targetType: 'User',
      targetId: id,
      changes: {
        ...fields,
        ...(input.roleIds !== undefined
          ? { roleIds: { from: before.roleIds, to: input.roleIds } }
          : {}),
        ...(passwordHash !== undefined ? { password: 'changed' } : {}),
      },
    });
  });
  return getMember(db, principal, id);
}

/** Every role must exist in the workspace and grant nothing the principal lacks. */
async function assertGrantableRoles(
  executor: Executor,
  principal: Principal,
  roleIds: readonly string[],
): Promise<void> {
  const workspaceRoles = await roles.listRoles(executor, principal.workspaceId);
  for (const roleId of roleIds) {
    const role = workspaceRoles.find((candidate) => candidate.id === roleId);
    if (role === undefined) throw invalidField('roleIds', `names an unknown role: ${roleId}`);
    requireNoEscalation(principal, role.permissions);
  }
}
