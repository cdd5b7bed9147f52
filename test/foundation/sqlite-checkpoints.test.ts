import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { TEST_DIALECT } from '../helpers/test-database.js';

const MB = 1024 * 1024;

describe.runIf(TEST_DIALECT === 'sqlite')('SQLite checkpoints', () => {
  let dir: string;
  let path: string;
  let database: Database;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'app-center-checkpoint-'));
    path = join(dir, 'data.db');
    database = openDatabase({ dialect: 'sqlite', path });
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(database.db);
  });
  afterEach(async () => {
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves a large commit in the WAL and copies it into the database file on a timer', async () => {
    const before = statSync(path).size;
    // About 2,000 pages: twice the size at which SQLite's default checkpoints in the commit.
    await database.db.transaction().execute(async (trx) => {
      for (let i = 0; i < 80; i += 1) {
        await sql`insert into blobs (body) values (randomblob(100000))`.execute(trx);
      }
    });
    expect(statSync(path).size - before).toBeLessThan(MB);
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(7 * MB);

    let copied = 0;
    for (let waited = 0; waited < 5_000 && copied < 7 * MB; waited += 100) {
      await sleep(100);
      copied = statSync(path).size - before;
    }
    expect(copied).toBeGreaterThan(7 * MB);
  });

  it('still reads and writes while a checkpoint is due inside a transaction', async () => {
    await database.db.transaction().execute(async (trx) => {
      await sql`insert into blobs (body) values (randomblob(10))`.execute(trx);
      await sleep(1_200);
      await sql`insert into blobs (body) values (randomblob(10))`.execute(trx);
    });
    const count = await sql<{ n: number }>`select count(*) as n from blobs`.execute(database.db);
    expect(count.rows[0]?.n).toBe(2);
  });
});
