import type { CreateTableBuilder } from 'kysely';
import type { Dialect } from '../database.js';

/**
 * A `seq` primary key that grows with each insert, for newest-first keyset pagination.
 * SQLite and PostgreSQL spell auto-increment differently; everything else is shared.
 */
export function addSequenceColumn<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: Dialect,
): CreateTableBuilder<T, 'seq'> {
  return dialect === 'sqlite'
    ? table.addColumn('seq', 'integer', (col) => col.primaryKey().autoIncrement())
    : table.addColumn('seq', 'bigint', (col) => col.primaryKey().generatedByDefaultAsIdentity());
}
