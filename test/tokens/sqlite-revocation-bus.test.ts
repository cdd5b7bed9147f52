import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { SqliteRevocationBus, type Revocation } from '../../src/tokens/revocation-bus.js';
import { TEST_DIALECT } from '../helpers/test-database.js';

const revoked = (n: number): Revocation => ({ kind: 'token', tokenHash: String(n).repeat(64) });

/** Two processes' connections to one SQLite file, each with its bus. */
describe.runIf(TEST_DIALECT === 'sqlite')('the SQLite revocation bus', () => {
  let dir: string;
  let databases: Database[];
  let publisher: SqliteRevocationBus;
  let other: SqliteRevocationBus;
  let heard: Revocation[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'app-center-bus-'));
    const path = join(dir, 'shared.db');
    databases = [
      openDatabase({ dialect: 'sqlite', path }),
      openDatabase({ dialect: 'sqlite', path }),
    ];
    await migrateToLatest(databases[0] as Database);
    const [first, second] = databases.map((database) => database.sqlite);
    if (first === undefined || second === undefined) throw new Error('SQLite only');
    publisher = new SqliteRevocationBus(first);
    other = new SqliteRevocationBus(second);
    heard = [];
    other.subscribe((revocation) => heard.push(revocation));
  });
  afterEach(async () => {
    for (const database of databases) await database.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers what another connection committed before the call, and only that', async () => {
    await other.sync();
    expect(heard).toEqual([]);
    await publisher.publish(revoked(1));
    await other.sync();
    expect(heard).toEqual([revoked(1)]);
    await other.sync();
    expect(heard).toEqual([revoked(1)]);
  });

  it('gives every caller of one turn the same check, made after all of them called', async () => {
    const waits = Array.from({ length: 50 }, () => other.sync());
    // Committed after the first caller asked, before the shared check runs.
    await publisher.publish(revoked(2));
    await Promise.all(waits);
    expect(heard).toEqual([revoked(2)]);
    expect(new Set(waits).size).toBe(1);
  });

  it('rejects the waiting callers, without crashing, when the database is gone', async () => {
    databases[1]?.sqlite?.close();
    await expect(other.sync()).rejects.toThrow(/database connection is not open/);
  });
});
