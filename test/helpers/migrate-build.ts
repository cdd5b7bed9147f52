import { Migrator, type Kysely, type Migration } from 'kysely';
import type { Database, Dialect } from '../../src/db/database.js';

/** A migration module as src/db/migrations exports it. */
export interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

/**
 * Migrates the database as an earlier build would have, with that build's own set of
 * migrations, so that a test can check what the current build makes of its databases.
 */
export async function migrateAsBuild(
  database: Database,
  build: Record<string, DialectMigration>,
): Promise<void> {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(build)) {
    migrations[name] = { up: (db: Kysely<unknown>) => migration.up(db, database.dialect) };
  }
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    ...(database.schema === undefined ? {} : { migrationTableSchema: database.schema }),
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}
