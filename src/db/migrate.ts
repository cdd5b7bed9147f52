import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Database, Dialect } from './database.js';
import * as foundation from './migrations/0001-foundation.js';
import * as privateApps from './migrations/0002-private-apps.js';
import * as records from './migrations/0003-records.js';
import * as requestLogs from './migrations/0004-request-logs.js';
import * as analytics from './migrations/0005-analytics.js';
import * as ticketsAsConversations from './migrations/0006-tickets-as-conversations.js';
import * as auditIndexes from './migrations/0007-audit-indexes.js';

/**
 * Every migration. Names sort by their numeric prefix and are never renamed; a fresh
 * database runs them in that order.
 */
type DialectMigration = { up(db: Kysely<unknown>, dialect: Dialect): Promise<void> };
const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-foundation': foundation,
  '0002-private-apps': privateApps,
  '0003-records': records,
  '0004-request-logs': requestLogs,
  '0005-analytics': analytics,
  '0006-tickets-as-conversations': ticketsAsConversations,
  '0007-audit-indexes': auditIndexes,
};

class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(
      Object.entries(MIGRATIONS).map(([name, migration]) => [
        name,
        { up: (db: Kysely<unknown>) => migration.up(db, this.dialect) },
      ]),
    );
  }
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies pending migrations; throws MigrationError naming the one that failed. */
export async function migrateToLatest(database: Database): Promise<string[]> {
  const migrator = new Migrator({
    db: database.db,
    provider: new StaticMigrationProvider(database.dialect),
    // 0003-records was added after builds that shipped 0004 and 0005, so databases made by
    // those builds have them applied and 0003 missing. Kysely refuses such a database
    // unless pending migrations may run out of order. 0003 needs only 0001's tables, which
    // those builds had, and pending migrations still run in name order among themselves.
    allowUnorderedMigrations: true,
    // Without it, Kysely would find another schema's migration table and trust it.
    ...(database.schema === undefined ? {} : { migrationTableSchema: database.schema }),
  });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((result) => result.status === 'Error');
  if (error !== undefined) {
    const name = failed?.migrationName ?? 'the migration table';
    throw new MigrationError(`migration ${name} failed`, { cause: error });
  }
  return results.map((result) => result.migrationName);
}
