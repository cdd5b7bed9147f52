import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../../src/config/config.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';

const postgresUrl =
  process.env.TEST_DATABASE_URL === '' ? undefined : process.env.TEST_DATABASE_URL;
export const TEST_DIALECT = postgresUrl === undefined ? 'sqlite' : 'postgres';

export interface TestDatabase {
  database: Database;
  target: DatabaseTarget;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database: a new SQLite file, or (when TEST_DATABASE_URL is set) a new
 * PostgreSQL schema that the connection's search_path points at. `migrate` replaces the
 * usual migration to the latest version, for suites that test migrating itself.
 */
export async function createTestDatabase(
  migrate: (database: Database) => Promise<unknown> = migrateToLatest,
): Promise<TestDatabase> {
  const url = postgresUrl;
  if (url === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'app-center-test-'));
    const target: DatabaseTarget = { dialect: 'sqlite', path: join(dir, 'test.db') };
    const database = openDatabase(target);
    await migrate(database);
    return {
      database,
      target,
      async drop() {
        await database.close().catch(() => {});
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  const schema = `t_${randomBytes(6).toString('hex')}`;
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const target: DatabaseTarget = { dialect: 'postgres', url: scoped.toString() };
  const database = openDatabase(target);
  // Kysely's migrator inspects every schema's tables; a suite dropping its schema at that
  // moment breaks another's migration, so creating, migrating and dropping take turns.
  await withSchemaLock(url, async (client) => {
    await client.query(`create schema ${schema}`);
    await migrate(database);
  });
  return {
    database,
    target,
    async drop() {
      await database.close().catch(() => {});
      await withSchemaLock(url, (client) => client.query(`drop schema ${schema} cascade`));
    },
  };
}

const SCHEMA_LOCK = 724_201;

/**
 * Runs `work` while no suite creates or drops a schema: for code under test that migrates
 * on its own, such as `startServer`, since migrating inspects every schema's tables.
 */
export async function withoutSchemaChanges<T>(work: () => Promise<T>): Promise<T> {
  if (postgresUrl === undefined) return work();
  return withSchemaLock(postgresUrl, () => work());
}

async function withSchemaLock<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [SCHEMA_LOCK]);
    return await work(client);
  } finally {
    await client.end();
  }
}
