import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';
import { addSequenceColumn } from './columns.js';

export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await db.schema
    .createTable('private_apps')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('workspace_id', 'text', (col) => col.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('description', 'text', (col) => col.notNull())
    .addColumn('permissions', 'text', (col) => col.notNull())
    .addColumn('enabled', 'integer', (col) => col.notNull())
    .addColumn('rate_limit_per_second', 'integer')
    .addColumn('ip_allowlist', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('private_apps_workspace')
    .on('private_apps')
    .columns(['workspace_id', 'created_at'])
    .execute();

  // Deleted tokens keep their row (hash only, never the token) so that a caller still
  // using one learns it was deleted rather than that it never existed.
  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('workspace_id', 'text', (col) => col.notNull().references('workspaces.id'))
    .addColumn('app_id', 'text', (col) => col.notNull())
    .addColumn('token_hash', 'text', (col) => col.notNull().unique())
    .addColumn('hint', 'text', (col) => col.notNull())
    .addColumn('label', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('created_by', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('retires_at', 'text')
    .addColumn('replaced_by', 'text')
    .addColumn('deleted_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('last_used_ip', 'text')
    .execute();
  await db.schema
    .createIndex('api_tokens_app')
    .on('api_tokens')
    .columns(['workspace_id', 'app_id'])
    .execute();

  // On SQLite, processes sharing the file learn of revocations from this table.
  await addSequenceColumn(db.schema.createTable('revocations'), dialect)
    .addColumn('payload', 'text', (col) => col.notNull())
    .addColumn('at', 'text', (col) => col.notNull())
    .execute();
}
