import type { Kysely } from 'kysely';
import type { Dialect } from '../database.js';
import { addSequenceColumn } from './columns.js';

/**
 * One row per request made with a known token. Time is epoch milliseconds so that range
 * scans and bucketing are integer arithmetic on both dialects. No foreign keys: rows
 * outlive deleted apps and tokens until retention removes them, and inserts stay cheap.
 */
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await addSequenceColumn(db.schema.createTable('request_logs'), dialect)
    .addColumn('workspace_id', 'text', (col) => col.notNull())
    .addColumn('app_id', 'text', (col) => col.notNull())
    .addColumn('token_id', 'text', (col) => col.notNull())
    .addColumn('token_hint', 'text', (col) => col.notNull())
    .addColumn('at', 'bigint', (col) => col.notNull())
    .addColumn('request_id', 'text', (col) => col.notNull())
    .addColumn('method', 'text', (col) => col.notNull())
    .addColumn('route', 'text', (col) => col.notNull())
    .addColumn('path', 'text', (col) => col.notNull())
    .addColumn('status', 'integer', (col) => col.notNull())
    .addColumn('duration_ms', 'double precision', (col) => col.notNull())
    .addColumn('ip', 'text', (col) => col.notNull())
    .addColumn('user_agent', 'text', (col) => col.notNull())
    .addColumn('model', 'text')
    .addColumn('operation', 'text', (col) => col.notNull())
    .addColumn('action', 'text')
    .addColumn('created_count', 'integer')
    .addColumn('updated_count', 'integer')
    .addColumn('error_count', 'integer')
    .addColumn('ignored_fields', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('missing_permission', 'text')
    .execute();

  // The one secondary index, since every index of interleaved apps costs each insert a few
  // microseconds: the Logs tab pages an app's rows newest first by (at, seq), and the chart
  // and suggested permissions range over at, reading status and duration from the index.
  // Retention walks the table in seq order and needs no index of its own.
  await db.schema
    .createIndex('request_logs_app_time')
    .on('request_logs')
    .columns(['workspace_id', 'app_id', 'at', 'seq', 'status', 'duration_ms'])
    .execute();
}
