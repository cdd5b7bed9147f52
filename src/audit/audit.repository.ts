import type { Executor } from '../db/database.js';
import type { Actor } from '../auth/principal.js';
import { newId, nowIso } from '../shared/ids.js';

export interface AuditEventInput {
  workspaceId: string;
  actor: Actor;
  action: string;
  targetType: string;
  targetId: string;
  changes?: Record<string, unknown>;
}

export interface AuditEvent {
  id: string;
  at: string;
  actor: Actor;
  action: string;
  targetType: string;
  targetId: string;
  changes: Record<string, unknown>;
}

/** Writes an audit event; callers pass their transaction so the event commits with the change. */
export async function recordAudit(executor: Executor, event: AuditEventInput): Promise<void> {
  await executor
    .insertInto('audit_events')
    .values({
      id: newId(),
      workspace_id: event.workspaceId,
      at: nowIso(),
      actor_type: event.actor.type,
      actor_id: event.actor.id,
      actor_name: event.actor.name,
      action: event.action,
      target_type: event.targetType,
      target_id: event.targetId,
      changes: JSON.stringify(event.changes ?? {}),
    })
    .execute();
}

export interface AuditQuery {
  targetType?: string;
  targetId?: string;
  limit?: number;
}

/** Newest first. */
export async function listAudit(
  executor: Executor,
  workspaceId: string,
  query: AuditQuery = {},
): Promise<AuditEvent[]> {
  let select = executor
    .selectFrom('audit_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .orderBy('seq', 'desc')
    .limit(Math.min(query.limit ?? 100, 1000));
  if (query.targetType !== undefined) select = select.where('target_type', '=', query.targetType);
  if (query.targetId !== undefined) select = select.where('target_id', '=', query.targetId);
  const rows = await select.execute();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: { type: toActorType(row.actor_type), id: row.actor_id, name: row.actor_name },
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    changes: JSON.parse(row.changes) as Record<string, unknown>,
  }));
}

function toActorType(value: string): Actor['type'] {
  return value === 'member' || value === 'app' ? value : 'system';
}
