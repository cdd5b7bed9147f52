import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresRevocationBus, type Revocation } from '../../src/tokens/revocation-bus.js';
import { createTestDatabase, TEST_DIALECT, type TestDatabase } from '../helpers/test-database.js';

const revocation: Revocation = { kind: 'token', tokenHash: 'a'.repeat(64) };

/** Buses of several "processes" on one pool: each holds its own listening connection. */
describe.runIf(TEST_DIALECT === 'postgres')('the PostgreSQL revocation bus', () => {
  let testDb: TestDatabase;
  const buses: PostgresRevocationBus[] = [];
  const errors: string[] = [];

  async function bus(schema = testDb.database.schema): Promise<PostgresRevocationBus> {
    const pool = testDb.database.pool as pg.Pool;
    const started = new PostgresRevocationBus(pool, (error) => errors.push(error.message), schema);
    await started.start();
    buses.push(started);
    return started;
  }

  beforeEach(async () => {
    testDb = await createTestDatabase();
    errors.length = 0;
  });
  afterEach(async () => {
    for (const started of buses.splice(0)) await started.close();
    await testDb.drop();
  });

  it('answers a publish only once every other listener has evicted', async () => {
    const publisher = await bus();
    const heard: Revocation[][] = [[], [], []];
    const others = await Promise.all([bus(), bus(), bus()]);
    others.forEach((other, i) => other.subscribe((r) => heard[i]?.push(r)));
    for (let round = 0; round < 20; round += 1) {
      await publisher.publish(revocation);
      expect(
        heard.map((list) => list.length),
        `round ${round}`,
      ).toEqual([round + 1, round + 1, round + 1]);
    }
    expect(errors).toEqual([]);
  });

  it('delivers its own revocation at once, before anything is sent', async () => {
    const publisher = await bus();
    const heard: Revocation[] = [];
    publisher.subscribe((r) => heard.push(r));
    const publishing = publisher.publish(revocation);
    expect(heard).toEqual([revocation]);
    await publishing;
    expect(heard).toEqual([revocation]);
  });

  it('keeps installations in other schemas out', async () => {
    const publisher = await bus();
    const elsewhere = await bus('some_other_schema');
    const heard: Revocation[] = [];
    elsewhere.subscribe((r) => heard.push(r));
    await publisher.publish(revocation);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heard).toEqual([]);
  });

  it('stops waiting for a listener that never acknowledges, and says so', async () => {
    const publisher = await bus();
    // Counted as a listener by its application name, but it hears nothing and answers nothing.
    const silent = new pg.Client({ connectionString: urlOf(testDb) });
    await silent.connect();
    try {
      await silent.query(`set application_name = '${publisher.channel}'`);
      const started = performance.now();
      await publisher.publish(revocation);
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(1_900);
      expect(waited).toBeLessThan(10_000);
      expect(errors).toEqual(['a revocation was not acknowledged in 2000 ms']);
    } finally {
      await silent.end();
    }
  });
});

function urlOf(testDb: TestDatabase): string {
  if (testDb.target.dialect !== 'postgres') throw new Error('PostgreSQL only');
  return testDb.target.url;
}
