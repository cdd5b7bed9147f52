import type { Executor } from '../db/database.js';
import type { RoleTable } from '../db/schema.js';
import { normalizePermissions, type PermissionSet } from '../permissions/permission-set.js';

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: PermissionSet;
  builtin: boolean;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface NewRole {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  permissions: PermissionSet;
  builtin: boolean;
  now: string;
}

export async function insertRole(executor: Executor, role: NewRole): Promise<void> {
  await executor
    .insertInto('roles')
    .values({
      id: role.id,
      workspace_id: role.workspaceId,
      name: role.name,
      description: role.description,
      permissions: JSON.stringify(role.permissions),
      builtin: role.builtin ? 1 : 0,
      created_at: role.now,
      updated_at: role.now,
    })
    .execute();
}

function roleQuery(executor: Executor, workspaceId: string) {
  return executor
    .selectFrom('roles')
    .selectAll('roles')
    .select((eb) =>
      eb
        .selectFrom('member_roles')
        .whereRef('member_roles.role_id', '=', 'roles.id')
        .select(eb.fn.countAll<number>().as('n'))
        .as('member_count'),
    )
    .where('roles.workspace_id', '=', workspaceId);
}

export async function listRoles(executor: Executor, workspaceId: string): Promise<Role[]> {
  const rows = await roleQuery(executor, workspaceId).orderBy('roles.name').execute();
  return rows.map(toRole);
}

export async function findRole(
  executor: Executor,
  workspaceId: string,
  id: string,
): Promise<Role | undefined> {
  const row = await roleQuery(executor, workspaceId).where('roles.id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toRole(row);
}

export async function findRoleByName(
  executor: Executor,
  workspaceId: string,
  name: string,
): Promise<Role | undefined> {
  const row = await roleQuery(executor, workspaceId)
    .where('roles.name', '=', name)
    .executeTakeFirst();
  return row === undefined ? undefined : toRole(row);
}

export async function updateRole(
  executor: Executor,
  workspaceId: string,
  id: string,
  changes: { name?: string; description?: string; permissions?: PermissionSet; now: string },
): Promise<void> {
  await executor
    .updateTable('roles')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.permissions === undefined
        ? {}
        : { permissions: JSON.stringify(changes.permissions) }),
      updated_at: changes.now,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

export async function deleteRole(executor: Executor, workspaceId: string, id: string) {
  await executor
    .deleteFrom('roles')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

/** Moves every member of one role to another, keeping members who already hold both. */
export async function moveRoleMembers(
  executor: Executor,
  workspaceId: string,
  fromRoleId: string,
  toRoleId: string,
): Promise<void> {
  const members = await executor
    .selectFrom('member_roles')
    .select('member_id')
    .where('workspace_id', '=', workspaceId)
    .where('role_id', '=', fromRoleId)
    .execute();
  for (const { member_id } of members) {
    await executor
      .insertInto('member_roles')
      .values({ workspace_id: workspaceId, member_id, role_id: toRoleId })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
  await executor
    .deleteFrom('member_roles')
    .where('workspace_id', '=', workspaceId)
    .where('role_id', '=', fromRoleId)
    .execute();
}

function toRole(row: RoleTable & { member_count: number | null }): Role {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    permissions: normalizePermissions(JSON.parse(row.permissions)),
    builtin: row.builtin === 1,
    memberCount: Number(row.member_count ?? 0),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
