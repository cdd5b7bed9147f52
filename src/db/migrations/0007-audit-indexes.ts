import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * Cheaper audit rows on SQLite, where a bulk upsert writes one per record. The table is
 * rebuilt under its old name with every row kept, without the unique index on `id`,
 * which no reader looks up (history and an app's trail read by workspace and target),
 * and without AUTOINCREMENT, whose counter row every insert rewrites. `seq` stays the
 * rowid and keeps growing, since audit events are never deleted.
 *
 * `records` keeps its rowid: as a WITHOUT ROWID table keyed by (workspace_id, model, id)
 * its inserts cost the same, and its key lookups, document updates and commits cost
 * more, its rows of several hundred bytes packing fewer to a page. PostgreSQL keeps its
 * tables: there a write costs a round trip far more than an index.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  if (dialect !== 'sqlite') return;
  // Kysely runs SQLite migrations outside transactions; the copy, drop and rename must
  // happen together or not at all.
  await db.transaction().execute((trx) => rebuildAudit(trx));
}

async function rebuildAudit(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_events_rebuilt (
      seq integer primary key,
      id text not null,
      workspace_id text not null references workspaces (id),
      at text not null,
      actor_type text not null,
      actor_id text not null,
      actor_name text not null,
      action text not null,
      target_type text not null,
      target_id text not null,
      changes text not null
    )
  `.execute(db);
  await sql`
    insert into audit_events_rebuilt
    select seq, id, workspace_id, at, actor_type, actor_id, actor_name, action, target_type,
      target_id, changes
    from audit_events order by seq
  `.execute(db);
  await sql`drop table audit_events`.execute(db);
  await sql`alter table audit_events_rebuilt rename to audit_events`.execute(db);
  await sql`
    create index audit_events_target
    on audit_events (workspace_id, target_type, target_id, seq)
  `.execute(db);
}
