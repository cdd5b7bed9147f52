import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import {
  appWithToken,
  bootServer,
  DIALECT,
  login,
  sleep,
  SOAK,
  stopAll,
  tenantToken,
} from './support/harness.js';

const ROUNDS = SOAK ? 20 : 4;
const EVENTS = 200;
const COMPANIES = 50;

interface Acknowledged {
  /** `action` of every acknowledged analytics batch. */
  batches: string[];
  /** `externalId` of every company in an acknowledged bulk upsert. */
  companies: string[];
}

/** Posts batches back to back until the server goes away; records what it acknowledged. */
async function ingest(url: string, round: number, sender: number, acked: Acknowledged) {
  for (let n = 0; ; n += 1) {
    const action = `crash-${round}-${sender}-${n}`;
    const items = Array.from({ length: EVENTS }, (_, i) => ({
      externalId: `user-${i % 20}`,
      action,
      date: new Date(1_700_000_000_000 + i).toISOString(),
    }));
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(items),
      });
      const report = (await response.json()) as { stored?: number };
      if (response.status === 200 && report.stored === EVENTS) acked.batches.push(action);
    } catch {
      return;
    }
  }
}

async function upsert(url: string, token: string, round: number, acked: Acknowledged) {
  for (let n = 0; ; n += 1) {
    const ids = Array.from({ length: COMPANIES }, (_, i) => `crash-${round}-${n}-${i}`);
    try {
      const response = await fetch(`${url}/companies`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(ids.map((externalId) => ({ externalId, name: externalId }))),
      });
      const report = (await response.json()) as { created?: number };
      if (response.status === 200 && report.created === COMPANIES) acked.companies.push(...ids);
    } catch {
      return;
    }
  }
}

describe('kill -9 during ingestion and bulk upserts', () => {
  const servers: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    `keeps every acknowledged item over ${ROUNDS} crashes`,
    { timeout: SOAK ? 900_000 : 180_000 },
    async () => {
      testDb = await createTestDatabase();
      const first = await bootServer(testDb);
      servers.push(first);
      const admin = await login(first.url);
      const app = await appWithToken(admin);
      const ingestPath = `/analytics/bulk/${await tenantToken(admin)}`;
      await stopAll(servers);

      const acked: Acknowledged = { batches: [], companies: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        const server = await bootServer(testDb);
        servers.push(server);
        const before = acked.batches.length + acked.companies.length;
        const senders = [
          ingest(`${server.url}${ingestPath}`, round, 0, acked),
          ingest(`${server.url}${ingestPath}`, round, 1, acked),
          upsert(server.url, app.token, round, acked),
          upsert(server.url, app.token, round + ROUNDS, acked),
        ];
        // A random moment once writes are flowing.
        const deadline = Date.now() + 20_000;
        while (acked.batches.length + acked.companies.length === before && Date.now() < deadline) {
          await sleep(10);
        }
        await sleep(Math.random() * 1_000);
        server.child.kill('SIGKILL');
        await Promise.all(senders);
        await stopAll(servers);
      }

      // One more start proves the database opens and migrates after the last crash.
      const last = await bootServer(testDb);
      servers.push(last);
      const db = testDb.database.db;
      const actions = await db
        .selectFrom('user_activities')
        .select(['action', (eb) => eb.fn.countAll<number>().as('n')])
        .where('action', 'like', 'crash-%')
        .groupBy('action')
        .execute();
      const stored = new Map(actions.map((row) => [row.action, Number(row.n)]));
      const lostBatches = acked.batches.filter((action) => stored.get(action) !== EVENTS);
      // A batch is one transaction: whole or absent, never torn.
      const torn = [...stored.values()].filter((n) => n !== EVENTS);

      const companies = await db
        .selectFrom('records')
        .select('external_id')
        .where('external_id', 'like', 'crash-%')
        .execute();
      const present = new Set(companies.map((row) => row.external_id));
      const lostCompanies = acked.companies.filter((id) => !present.has(id));

      console.log(
        `crash [${DIALECT}] ${ROUNDS} rounds: acknowledged ${acked.batches.length} batches ` +
          `(${acked.batches.length * EVENTS} events) and ${acked.companies.length} companies; ` +
          `lost ${lostBatches.length} batches, ${lostCompanies.length} companies`,
      );
      expect(acked.batches.length).toBeGreaterThan(0);
      expect(acked.companies.length).toBeGreaterThan(0);
      expect(lostBatches).toEqual([]);
      expect(torn).toEqual([]);
      expect(lostCompanies).toEqual([]);

      if (DIALECT === 'sqlite') {
        const check = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db);
        expect(check.rows).toEqual([{ integrity_check: 'ok' }]);
        const foreign = await sql`pragma foreign_key_check`.execute(db);
        expect(foreign.rows).toEqual([]);
      }
    },
  );
});
