import type { Executor } from '../db/database.js';
import type { PrivateAppTable } from '../db/schema.js';
import type { Actor } from '../auth/principal.js';
import { normalizePermissions, type PermissionSet } from '../permissions/permission-set.js';

export interface PrivateApp {
  id: string;
  workspaceId: string;
  name: string;
  description: string;
  permissions: PermissionSet;
  enabled: boolean;
  rateLimitPerSecond: number | null;
  ipAllowlist: string[];
  createdAt: string;
  createdBy: Actor;
  updatedAt: string;
}

export interface PrivateAppSummary extends PrivateApp {
  tokenCount: number;
  lastUsedAt: string | null;
}

export async function insertApp(executor: Executor, app: PrivateApp): Promise<void> {
  await executor
    .insertInto('private_apps')
    .values({
      id: app.id,
      workspace_id: app.workspaceId,
      name: app.name,
      description: app.description,
      permissions: JSON.stringify(app.permissions),
      enabled: app.enabled ? 1 : 0,
      rate_limit_per_second: app.rateLimitPerSecond,
      ip_allowlist: JSON.stringify(app.ipAllowlist),
      created_at: app.createdAt,
      created_by: JSON.stringify(app.createdBy),
      updated_at: app.updatedAt,
    })
    .execute();
}

function summaryQuery(executor: Executor, workspaceId: string) {
  return executor
    .selectFrom('private_apps as a')
    .selectAll('a')
    .select((eb) => [
      eb
        .selectFrom('api_tokens as t')
        .whereRef('t.app_id', '=', 'a.id')
        .where('t.deleted_at', 'is', null)
        .select((inner) => inner.fn.countAll<number>().as('n'))
        .as('token_count'),
      eb
        .selectFrom('api_tokens as t')
        .whereRef('t.app_id', '=', 'a.id')
        .select((inner) => inner.fn.max('t.last_used_at').as('m'))
        .as('last_used_at'),
    ])
    .where('a.workspace_id', '=', workspaceId);
}

export async function listApps(executor: Executor, workspaceId: string) {
  const rows = await summaryQuery(executor, workspaceId)
    .orderBy('a.created_at')
    .orderBy('a.id')
    .execute();
  return rows.map(toSummary);
}

export async function findApp(
  executor: Executor,
  workspaceId: string,
  id: string,
): Promise<PrivateAppSummary | undefined> {
  const row = await summaryQuery(executor, workspaceId).where('a.id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toSummary(row);
}

export interface AppChanges {
  name?: string;
  description?: string;
  permissions?: PermissionSet;
  enabled?: boolean;
  rateLimitPerSecond?: number | null;
  ipAllowlist?: string[];
}

export async function updateApp(
  executor: Executor,
  workspaceId: string,
  id: string,
  changes: AppChanges,
  now: string,
): Promise<void> {
  await executor
    .updateTable('private_apps')
    .set({
      ...(changes.name === undefined ? {} : { name: changes.name }),
      ...(changes.description === undefined ? {} : { description: changes.description }),
      ...(changes.permissions === undefined
        ? {}
        : { permissions: JSON.stringify(changes.permissions) }),
      ...(changes.enabled === undefined ? {} : { enabled: changes.enabled ? 1 : 0 }),
      ...(changes.rateLimitPerSecond === undefined
        ? {}
        : { rate_limit_per_second: changes.rateLimitPerSecond }),
      ...(changes.ipAllowlist === undefined
        ? {}
        : { ip_allowlist: JSON.stringify(changes.ipAllowlist) }),
      updated_at: now,
    })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

export async function deleteApp(executor: Executor, workspaceId: string, id: string) {
  await executor
    .deleteFrom('private_apps')
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

type SummaryRow = PrivateAppTable & {
  token_count: number | null;
  last_used_at: string | null;
};

function toSummary(row: SummaryRow): PrivateAppSummary {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    description: row.description,
    permissions: normalizePermissions(JSON.parse(row.permissions)),
    enabled: row.enabled === 1,
    rateLimitPerSecond: row.rate_limit_per_second,
    ipAllowlist: JSON.parse(row.ip_allowlist) as string[],
    createdAt: row.created_at,
    createdBy: JSON.parse(row.created_by) as Actor,
    updatedAt: row.updated_at,
    tokenCount: Number(row.token_count ?? 0),
    lastUsedAt: row.last_used_at,
  };
}
