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
 * PostgreSQL schema that the connection's search_path points at.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = postgresUrl;
  if (url === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'app-center-test-'));
    const target: DatabaseTarget = { dialect: 'sqlite', path: join(dir, 'test.db') };
    const database = openDatabase(target);
    await migrateToLatest(database);
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
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const target: DatabaseTarget = { dialect: 'postgres', url: scoped.toString() };
  const database = openDatabase(target);
  await migrateToLatest(database);
  return {
    database,
    target,
    async drop() {
      await database.close().catch(() => {});
      const cleaner = new pg.Client({ connectionString: url });
      await cleaner.connect();
      await cleaner.query(`drop schema ${schema} cascade`);
      await cleaner.end();
    },
  };
}
