import type { Executor } from '../db/database.js';
import type { MemberTable } from '../db/schema.js';

export interface Member {
  id: string;
  workspaceId: string;
  email: string;
  firstName: string;
  lastName: string;
  nickname: string;
  inactive: boolean;
  roleIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface MemberCredentials {
  id: string;
  workspaceId: string;
  passwordHash: string;
  inactive: boolean;
}

/** Emails are matched without case or surrounding space, so `Ann@X.io` is `ann@x.io`. */
export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

export interface NewMember {
  id: string;
  workspaceId: string;
  email: string;
  firstName: string;
  lastName: string;
  nickname: string;
  passwordHash: string;
  roleIds: string[];
  now: string;
}

export async function insertMember(executor: Executor, member: NewMember): Promise<void> {
  await executor
    .insertInto('members')
    .values({
      id: member.id,
      workspace_id: member.workspaceId,
      email: member.email.trim(),
      email_key: emailKey(member.email),
      first_name: member.firstName,
      last_name: member.lastName,
      nickname: member.nickname,
      password_hash: member.passwordHash,
      inactive: 0,
      created_at: member.now,
      updated_at: member.now,
    })
    .execute();
  await setMemberRoles(executor, member.workspaceId, member.id, member.roleIds);
}

export async function setMemberRoles(
  executor: Executor,
  workspaceId: string,
  memberId: string,
  roleIds: string[],
): Promise<void> {
  await executor
    .deleteFrom('member_roles')
    .where('workspace_id', '=', workspaceId)
    .where('member_id', '=', memberId)
    .execute();
  if (roleIds.length === 0) return;
  await executor
    .insertInto('member_roles')
    .values(
      [...new Set(roleIds)].map((role_id) => ({
        workspace_id: workspaceId,
        member_id: memberId,
        role_id,
      })),
    )
    .execute();
}

export async function emailTaken(executor: Executor, email: string): Promise<boolean> {
  const row = await executor
    .selectFrom('members')
    .select('id')
    .where('email_key', '=', emailKey(email))
    .executeTakeFirst();
  return row !== undefined;
}

export async function findCredentials(
  executor: Executor,
  email: string,
): Promise<MemberCredentials | undefined> {
  const row = await executor
    .selectFrom('members')
    .select(['id', 'workspace_id', 'password_hash', 'inactive'])
    .where('email_key', '=', emailKey(email))
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    passwordHash: row.password_hash,
    inactive: row.inactive === 1,
  };
}

export async function listMembers(executor: Executor, workspaceId: string): Promise<Member[]> {
  const rows = await executor
    .selectFrom('members')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  const roleRows = await executor
    .selectFrom('member_roles')
    .select(['member_id', 'role_id'])
    .where('workspace_id', '=', workspaceId)
    .execute();
  return rows.map((row) =>
    toMember(
      row,
      roleRows.filter((r) => r.member_id === row.id).map((r) => r.role_id),
    ),
  );
}

export async function findMember(
  executor: Executor,
  workspaceId: string,
  id: string,
): Promise<Member | undefined> {
  const row = await executor
    .selectFrom('members')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const roleRows = await executor
    .selectFrom('member_roles')
    .select('role_id')
    .where('workspace_id', '=', workspaceId)
    .where('member_id', '=', id)
    .execute();
  return toMember(
    row,
    roleRows.map((r) => r.role_id),
  );
}

export interface MemberChanges {
  email?: string;
  firstName?: string;
  lastName?: string;
  nickname?: string;
  inactive?: boolean;
  passwordHash?: string;
}

export async function updateMember(
  executor: Executor,
  workspaceId: string,
  id: string,
  changes: MemberChanges,
  now: string,
): Promise<void> {
  await executor
    .updateTable('members')
    .set({
      ...(changes.email === undefined
        ? {}
        : { email: changes.email.trim(), email_key: emailKey(changes.email) }),
      ...(changes.firstName === undefined ? {} : { first_name: changes.firstName }),
      ...(changes.lastName === undefined ? {} : { last_name: changes.lastName }),
      ...(changes.nickname === undefined ? {} : { nickname: changes.nickname }),
      ...(changes.inactive === undefined ? {} : { inactive: changes.inactive ? 1 : 0 }),
      ...(changes.passwordHash === undefined ? {} : { password_hash: changes.passwordHash }),
      updated_at: now,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

function toMember(row: MemberTable, roleIds: string[]): Member {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    nickname: row.nickname,
    inactive: row.inactive === 1,
    roleIds,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function displayName(member: Pick<Member, 'firstName' | 'lastName' | 'email'>): string {
  const name = `${member.firstName} ${member.lastName}`.trim();
  return name === '' ? member.email : name;
}
