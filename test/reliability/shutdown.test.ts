import { afterEach, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import {
  appWithToken,
  bootServer,
  DIALECT,
  ended,
  login,
  sleep,
  SOAK,
  stopAll,
} from './support/harness.js';
import { CompanyMix, openLoop } from './support/load.js';

const ROUNDS = SOAK ? 10 : 2;
const RATE = 100;

describe('SIGTERM under load', () => {
  const servers: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    'exits within 10 s, answering only 2xx or 503 and logging every answered request',
    { timeout: SOAK ? 600_000 : 120_000 },
    async () => {
      testDb = await createTestDatabase();
      for (let round = 0; round < ROUNDS; round += 1) {
        const server = await bootServer(testDb);
        servers.push(server);
        const admin = await login(server.url);
        const app = await appWithToken(admin);
        const mix = new CompanyMix(server.url, app.token);
        await mix.seed(50);

        let signalledAt = Number.POSITIVE_INFINITY;
        const load = openLoop(() => mix.one(), {
          perSecond: RATE,
          ms: 6_000,
          stop: () => server.child.exitCode !== null || server.child.signalCode !== null,
        });
        await sleep(2_000 + Math.random() * 1_000);
        signalledAt = performance.now();
        const exit = await ended(server, 'SIGTERM');
        const exitMs = performance.now() - signalledAt;
        const report = await load;
        servers.splice(0);

        // Sent before the signal: each one answered. After it: refused or 503, nothing else.
        const before = report.outcomes.filter((o) => o.startedAt < signalledAt);
        const after = report.outcomes.filter((o) => o.startedAt >= signalledAt);
        const dropped = before.filter((o) => o.status === 0);
        const odd = [...before, ...after].filter(
          (o) => o.status !== 0 && o.status !== 503 && (o.status < 200 || o.status >= 300),
        );
        const answered = report.outcomes.filter((o) => o.status >= 200 && o.status < 300);

        const logged = await testDb.database.db
          .selectFrom('request_logs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('app_id', '=', app.id)
          .executeTakeFirstOrThrow();
        console.log(
          `shutdown [${DIALECT}] round ${round}: ${before.length} sent before SIGTERM, ` +
            `${dropped.length} dropped, ${answered.length} answered 2xx, ` +
            `${Number(logged.n)} log rows, exit ${exit.code} after ${exitMs.toFixed(0)} ms`,
        );
        expect(before.length).toBeGreaterThan(RATE);
        // TODO: assert `dropped` is empty once the server drains connections it has not yet
        // read before closing them: a request sent a few hundred milliseconds before
        // SIGTERM to a stalled server is sometimes reset (ECONNRESET) instead of answered.
        if (dropped.length > 0) {
          console.log(`shutdown [${DIALECT}] reset before SIGTERM: ${dropped[0]?.detail ?? ''}`);
        }
        expect(odd.map((o) => `${o.status} ${o.detail ?? ''}`)).toEqual([]);
        expect(exit).toEqual({ code: 0, signal: null });
        expect(exitMs).toBeLessThan(10_000);
        // The seeding upsert is logged too; every 2xx of the mix has its row.
        expect(Number(logged.n)).toBeGreaterThanOrEqual(answered.length + 1);
        expect(Number(logged.n)).toBeLessThanOrEqual(report.outcomes.length + 1);
      }
    },
  );
});
