import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { systemActor, type Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Schema } from '../db/schema.js';
import * as members from '../members/member.repository.js';
import { generatePassword, hashPassword, type ScryptCost } from '../members/password.js';
import { requirePermission } from '../permissions/authorize.js';
import { fullPermissions } from '../permissions/permission-set.js';
import { defaultRoles } from '../roles/default-roles.js';
import { insertRole } from '../roles/role.repository.js';
import { AppError, notFound } from '../shared/errors.js';
import { newId, nowIso } from '../shared/ids.js';
import * as workspaces from './workspace.repository.js';

export type { Workspace } from './workspace.repository.js';

export interface InitInput {
  workspaceName: string;
  adminEmail: string;
  adminPassword?: string;
  passwordCost?: ScryptCost;
}

export interface InitResult {
  workspace: workspaces.Workspace;
  admin: { id: string; email: string; password: string | undefined };
}

/**
 * Creates a workspace with the default roles and a first Administrator. A generated
 * password is returned once (it is stored only as a hash) when none was given.
 */
export async function initWorkspace(db: Kysely<Schema>, input: InitInput): Promise<InitResult> {
  const password = input.adminPassword ?? generatePassword();
  const passwordHash = await hashPassword(password, input.passwordCost);
  const now = nowIso();
  const workspace: workspaces.Workspace = {
    id: newId(),
    name: input.workspaceName,
    tenantToken: randomUUID(),
    createdAt: now,
  };
  const adminId = newId();

  await db.transaction().execute(async (trx) => {
    if (await members.emailTaken(trx, input.adminEmail)) {
      throw new AppError('conflict', { field: 'email', message: 'email is already a member' });
    }
    await workspaces.insertWorkspace(trx, workspace);
    let administratorRoleId = '';
    for (const template of defaultRoles()) {
      const id = newId();
      if (template.name === 'Administrator') administratorRoleId = id;
      await insertRole(trx, { ...template, id, workspaceId: workspace.id, builtin: true, now });
    }
    await members.insertMember(trx, {
      id: adminId,
      workspaceId: workspace.id,
      email: input.adminEmail,
      firstName: 'Admin',
      lastName: '',
      nickname: '',
      passwordHash,
      roleIds: [administratorRoleId],
      now,
    });
    await recordAudit(trx, {
      workspaceId: workspace.id,
      actor: systemActor(),
      action: 'workspace.create',
      targetType: 'Workspace',
      targetId: workspace.id,
      changes: { name: workspace.name, adminId },
    });
  });

  return {
    workspace,
    admin: {
      id: adminId,
      email: input.adminEmail,
      password: input.adminPassword === undefined ? password : undefined,
    },
  };
}

/** The principal of the command line: the workspace itself, with every permission. */
export function systemPrincipal(workspaceId: string): Principal {
  return { kind: 'system', workspaceId, actor: systemActor(), permissions: fullPermissions() };
}

export async function getSettings(db: Kysely<Schema>, principal: Principal) {
  requirePermission(principal, 'Settings', 'view');
  const workspace = await workspaces.findWorkspace(db, principal.workspaceId);
  if (workspace === undefined) throw notFound('workspace');
  return workspace;
}

/** Issues a new Tenant Token; the old one stops working with this commit. */
export async function regenerateTenantToken(db: Kysely<Schema>, principal: Principal) {
  requirePermission(principal, 'Settings', 'update');
  const tenantToken = randomUUID();
  await db.transaction().execute(async (trx) => {
    await workspaces.setTenantToken(trx, principal.workspaceId, tenantToken);
    await recordAudit(trx, {
      workspaceId: principal.workspaceId,
      actor: principal.actor,
      action: 'settings.tenantToken.regenerate',
      targetType: 'Workspace',
      targetId: principal.workspaceId,
    });
  });
  return getSettings(db, principal);
}
