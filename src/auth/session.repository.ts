import type { Executor } from '../db/database.js';

export interface SessionRow {
  workspaceId: string;
  memberId: string;
  expiresAt: string;
}

export async function insertSession(
  executor: Executor,
  session: SessionRow & { idHash: string; createdAt: string },
): Promise<void> {
  await executor
    .insertInto('sessions')
    .values({
      id_hash: session.idHash,
      workspace_id: session.workspaceId,
      member_id: session.memberId,
      created_at: session.createdAt,
      expires_at: session.expiresAt,
    })
    .execute();
}

export async function findSession(
  executor: Executor,
  idHash: string,
): Promise<SessionRow | undefined> {
  const row = await executor
    .selectFrom('sessions')
    .select(['workspace_id', 'member_id', 'expires_at'])
    .where('id_hash', '=', idHash)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return { workspaceId: row.workspace_id, memberId: row.member_id, expiresAt: row.expires_at };
}

export async function deleteSession(executor: Executor, idHash: string): Promise<void> {
  await executor.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
}

export async function deleteExpiredSessions(executor: Executor, now: string): Promise<void> {
  await executor.deleteFrom('sessions').where('expires_at', '<', now).execute();
}
