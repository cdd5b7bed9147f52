import type { Executor } from '../db/database.js';

export interface Workspace {
  id: string;
  name: string;
  tenantToken: string;
  createdAt: string;
}

export async function insertWorkspace(executor: Executor, workspace: Workspace): Promise<void> {
  await executor
    .insertInto('workspaces')
    .values({
      id: workspace.id,
      name: workspace.name,
      tenant_token: workspace.tenantToken,
      created_at: workspace.createdAt,
    })
    .execute();
}

export async function findWorkspace(
  executor: Executor,
  id: string,
): Promise<Workspace | undefined> {
  const row = await executor
    .selectFrom('workspaces')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  return row === undefined ? undefined : toWorkspace(row);
}

export async function findWorkspaceByTenantToken(
  executor: Executor,
  tenantToken: string,
): Promise<Workspace | undefined> {
  const row = await executor
    .selectFrom('workspaces')
    .selectAll()
    .where('tenant_token', '=', tenantToken)
    .executeTakeFirst();
  return row === undefined ? undefined : toWorkspace(row);
}

export async function listWorkspaces(executor: Executor): Promise<Workspace[]> {
  const rows = await executor.selectFrom('workspaces').selectAll().orderBy('created_at').execute();
  return rows.map(toWorkspace);
}

export async function setTenantToken(
  executor: Executor,
  id: string,
  tenantToken: string,
): Promise<void> {
  await executor
    .updateTable('workspaces')
    .set({ tenant_token: tenantToken })
    .where('id', '=', id)
    .execute();
}

function toWorkspace(row: {
  id: string;
  name: string;
  tenant_token: string;
  created_at: string;
}): Workspace {
  return { id: row.id, name: row.name, tenantToken: row.tenant_token, createdAt: row.created_at };
}
