import { sql, type Kysely } from 'kysely';

interface TicketRow {
  workspace_id: string;
  id: string;
  external_id: string | null;
  source_id: string | null;
  company_id: string | null;
  doc: string;
}

/** Server-written fields that end every document; a ticket's `type` goes before them. */
const SYSTEM_FIELDS = new Set(['createdAt', 'updatedAt', 'createdBy', 'updatedBy', '__v']);

/**
 * Tickets are conversations of type `ticket`, one store for `/tickets` and
 * `/conversations`. Earlier builds stored them as a model of their own: each becomes a
 * conversation, and its audit events follow it. A ticket whose sourceId or externalId
 * a conversation of the same workspace already holds cannot join them, since those keys
 * are unique per model; it keeps its row, out of every route's sight, rather than
 * failing the upgrade.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const { rows } = await sql<TicketRow>`
    select workspace_id, id, external_id, source_id, company_id, doc from records t
    where model = 'Ticket' and not exists (
      select 1 from records c
      where c.workspace_id = t.workspace_id and c.model = 'Conversation'
        and (c.source_id = t.source_id or (c.external_id = t.external_id
          and coalesce(c.company_id, '') = coalesce(t.company_id, '')))
    )
  `.execute(db);

  for (const row of rows) {
    await sql`
      update records set model = 'Conversation', doc = ${asConversation(row.doc)}
      where workspace_id = ${row.workspace_id} and model = 'Ticket' and id = ${row.id}
    `.execute(db);
  }
  // The history of every ticket that is now a conversation, deleted ones included.
  await sql`
    update audit_events set target_type = 'record.Conversation'
    where target_type = 'record.Ticket' and not exists (
      select 1 from records r
      where r.workspace_id = audit_events.workspace_id and r.model = 'Ticket'
        and r.id = audit_events.target_id
    )
  `.execute(db);
}

/** The document with `type: "ticket"`, in the place the server writes fields. */
function asConversation(text: string): string {
  const doc = JSON.parse(text) as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'type') continue;
    if (SYSTEM_FIELDS.has(key) && !('type' in result)) result.type = 'ticket';
    result[key] = value;
  }
  if (!('type' in result)) result.type = 'ticket';
  return JSON.stringify(result);
}
