import type { Executor } from '../db/database.js';
import type { ApiTokenTable } from '../db/schema.js';
import type { Actor } from '../auth/principal.js';

/** A token as its app's token list shows it: never the token, only its hint. */
export interface TokenInfo {
  id: string;
  appId: string;
  hint: string;
  label: string;
  createdAt: string;
  createdBy: Actor;
  expiresAt: string | null;
  retiresAt: string | null;
  replacedBy: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

export interface NewToken {
  id: string;
  workspaceId: string;
  appId: string;
  tokenHash: string;
  hint: string;
  label: string;
  createdAt: string;
  createdBy: Actor;
  expiresAt: string | null;
}

export async function insertToken(executor: Executor, token: NewToken): Promise<void> {
  await executor
    .insertInto('api_tokens')
    .values({
      id: token.id,
      workspace_id: token.workspaceId,
      app_id: token.appId,
      token_hash: token.tokenHash,
      hint: token.hint,
      label: token.label,
      created_at: token.createdAt,
      created_by: JSON.stringify(token.createdBy),
      expires_at: token.expiresAt,
    })
    .execute();
}

/** Live tokens of an app (not deleted), newest first. */
export async function listTokens(executor: Executor, workspaceId: string, appId: string) {
  const rows = await executor
    .selectFrom('api_tokens')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('app_id', '=', appId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toInfo);
}

export async function findToken(
  executor: Executor,
  workspaceId: string,
  appId: string,
  id: string,
): Promise<(TokenInfo & { tokenHash: string }) | undefined> {
  const row = await executor
    .selectFrom('api_tokens')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row === undefined ? undefined : { ...toInfo(row), tokenHash: row.token_hash };
}

export async function markDeleted(
  executor: Executor,
  workspaceId: string,
  where: { appId: string; tokenId?: string },
  now: string,
): Promise<string[]> {
  let query = executor
    .selectFrom('api_tokens')
    .select('token_hash')
    .where('workspace_id', '=', workspaceId)
    .where('app_id', '=', where.appId)
    .where('deleted_at', 'is', null);
  if (where.tokenId !== undefined) query = query.where('id', '=', where.tokenId);
  const hashes = (await query.execute()).map((row) => row.token_hash);
  let update = executor
    .updateTable('api_tokens')
    .set({ deleted_at: now })
    .where('workspace_id', '=', workspaceId)
    .where('app_id', '=', where.appId)
    .where('deleted_at', 'is', null);
  if (where.tokenId !== undefined) update = update.where('id', '=', where.tokenId);
  await update.execute();
  return hashes;
}

export async function setRetirement(
  executor: Executor,
  workspaceId: string,
  id: string,
  retiresAt: string,
  replacedBy: string,
): Promise<void> {
  await executor
    .updateTable('api_tokens')
    .set({ retires_at: retiresAt, replaced_by: replacedBy })
    .where('workspace_id', '=', workspaceId)
    .where('id', '=', id)
    .execute();
}

export interface TokenUse {
  tokenId: string;
  at: string;
  ip: string;
}

/** Applies many uses at once; only ever moves last-used forward. */
export async function recordUses(executor: Executor, uses: readonly TokenUse[]): Promise<void> {
  for (const use of uses) {
    await executor
      .updateTable('api_tokens')
      .set({ last_used_at: use.at, last_used_ip: use.ip })
      .where('id', '=', use.tokenId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', use.at)]))
      .execute();
  }
}

function toInfo(row: ApiTokenTable): TokenInfo {
  return {
    id: row.id,
    appId: row.app_id,
    hint: row.hint,
    label: row.label,
    createdAt: row.created_at,
    createdBy: JSON.parse(row.created_by) as Actor,
    expiresAt: row.expires_at,
    retiresAt: row.retires_at,
    replacedBy: row.replaced_by,
    lastUsedAt: row.last_used_at,
    lastUsedIp: row.last_used_ip,
  };
}
