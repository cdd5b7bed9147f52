import type { CreateTableBuilder, Kysely } from 'kysely';
import type { Dialect } from '../database.js';

// Analytics rows arrive by the hundred thousand, so their tables differ from the rest:
// times are epoch milliseconds (integers compare and index cheaply), and each table has
// as few indexes as its reads need, since every index costs a share of ingestion speed.
// workspace_id has no foreign key for the same reason: a key check per row would cost
// more than the insert's own work, and ingestion has just resolved the workspace.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  await rowKey(db.schema.createTable('user_activities'), dialect)
    .addColumn('workspace_id', 'text', (col) => col.notNull())
    .addColumn('time', 'bigint', (col) => col.notNull())
    .addColumn('received_at', 'bigint', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('weight', 'double precision', (col) => col.notNull())
    .addColumn('count', 'double precision', (col) => col.notNull())
    .addColumn('email', 'text')
    .addColumn('external_id', 'text')
    .addColumn('company_external_id', 'text')
    .addColumn('name', 'text')
    .addColumn('enduser_id', 'text')
    .addColumn('company_id', 'text')
    .addColumn('info', 'text')
    .execute();
  // One index: newest-first reads walk it, filters included. A second one, on the end
  // user or company, would halve the insert rate on SQLite.
  await db.schema
    .createIndex('user_activities_time')
    .on('user_activities')
    .columns(['workspace_id', 'time'])
    .execute();

  await rowKey(db.schema.createTable('dimension_data'), dialect)
    .addColumn('workspace_id', 'text', (col) => col.notNull())
    .addColumn('dimension_id', 'text', (col) => col.notNull())
    .addColumn('value', 'double precision', (col) => col.notNull())
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('external_id', 'text')
    .addColumn('object_id', 'text')
    .addColumn('company_id', 'text')
    .addColumn('time', 'bigint', (col) => col.notNull())
    .addColumn('day', 'integer', (col) => col.notNull())
    .addColumn('received_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('dimension_data_dimension')
    .on('dimension_data')
    .columns(['workspace_id', 'dimension_id', 'day'])
    .execute();
  await db.schema
    .createIndex('dimension_data_company')
    .on('dimension_data')
    .columns(['workspace_id', 'company_id', 'day'])
    .execute();
}

/**
 * A `seq` key in insertion order. On SQLite it is the rowid itself, without
 * AUTOINCREMENT, which would add a write to sqlite_sequence for every row.
 */
function rowKey<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: Dialect,
): CreateTableBuilder<T, 'seq'> {
  return dialect === 'sqlite'
    ? table.addColumn('seq', 'integer', (col) => col.primaryKey())
    : table.addColumn('seq', 'bigint', (col) => col.primaryKey().generatedByDefaultAsIdentity());
}
