import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { TEST_DIALECT } from '../helpers/test-database.js';

/** Another process's connection to the same file, stood in for by a second handle. */
describe.runIf(TEST_DIALECT === 'sqlite')('SQLite transactions shared with other processes', () => {
  let dir: string;
  let database: Database;
  let other: BetterSqlite3.Database;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'app-center-tx-'));
    const path = join(dir, 'shared.db');
    database = openDatabase({ dialect: 'sqlite', path });
    await sql`create table counters (name text primary key, n integer)`.execute(database.db);
    await sql`insert into counters values ('a', 0)`.execute(database.db);
    other = new BetterSqlite3(path, { timeout: 50 });
  });
  afterEach(async () => {
    other.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds the write lock from begin, so a read-then-write never fails on a stale snapshot', async () => {
    let otherWrite: string | undefined;
    await database.db.transaction().execute(async (trx) => {
      const row = await sql<{ n: number }>`select n from counters where name = 'a'`.execute(trx);
      try {
        other.prepare(`update counters set n = n + 100 where name = 'a'`).run();
        otherWrite = 'committed';
      } catch (error) {
        otherWrite = (error as { code?: string }).code;
      }
      const next = (row.rows[0]?.n ?? 0) + 1;
      await sql`update counters set n = ${next} where name = 'a'`.execute(trx);
    });
    // The other writer waited its timeout and gave up; no update was lost.
    expect(otherWrite).toBe('SQLITE_BUSY');
    const final = other.prepare(`select n from counters where name = 'a'`).get() as { n: number };
    expect(final.n).toBe(1);
  });
});
