import { afterEach, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import {
  appWithToken,
  bootServer,
  DIALECT,
  initWorkspace,
  login,
  percentile,
  SOAK,
  stopAll,
} from './support/harness.js';
import { closedLoop, CompanyMix, openLoop, type LoadReport } from './support/load.js';

const STEADY_MS = SOAK ? 60_000 : 12_000;
const OVERLOAD_MS = SOAK ? 30_000 : 10_000;
// The client shares two cores with the server; past this rate it measures itself.
const MAX_STEADY_RATE = 600;
const ANSWER_WITHIN_MS = 10_000;

function line(name: string, report: LoadReport, rate: number) {
  const statuses = JSON.stringify(report.byStatus);
  return `${name} [${DIALECT}] ${rate}/s: sent ${report.sent}, p99 ${report.p99.toFixed(1)} ms, ${statuses}`;
}

describe('the main API under steady load and overload', () => {
  const servers: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    'serves the mix at two thirds of its knee without an error, then sheds three times that',
    { timeout: 240_000 },
    async () => {
      testDb = await createTestDatabase();
      const server = await bootServer(testDb);
      servers.push(server);
      const admin = await login(server.url);
      const app = await appWithToken(admin);
      // Past the knee the server sheds instead of queueing, so no answer may take this long.
      const mix = new CompanyMix(server.url, app.token, ANSWER_WITHIN_MS);
      await mix.seed(200);

      // The knee: what back-to-back clients get through, below the per-app in-flight cap.
      const knee = await closedLoop(() => mix.one(), 16, SOAK ? 10_000 : 4_000);
      expect(knee.report.byStatus, 'the knee run').toEqual({
        ...Object.fromEntries(
          Object.keys(knee.report.byStatus).map((s) => [s, expect.any(Number)]),
        ),
      });
      const rate = Math.max(20, Math.min(MAX_STEADY_RATE, Math.floor((knee.perSecond * 2) / 3)));

      const steady = await openLoop(() => mix.one(), { perSecond: rate, ms: STEADY_MS });
      console.log(`knee [${DIALECT}] ${knee.perSecond.toFixed(0)}/s`);
      console.log(line('steady', steady, rate));
      // A latency spike on a shared machine can put one app past its 50 requests in flight;
      // that answer is Planhat's burst rule (429 with Retry-After), not an error, but it
      // must stay rare. Anything else outside 2xx is an error: below the knee nothing is shed.
      const backpressure = steady.outcomes.filter((o) => o.status === 429 && o.retryAfter);
      const unexpected = steady.outcomes.filter(
        (o) => (o.status < 200 || o.status >= 300) && !(o.status === 429 && o.retryAfter),
      );
      console.log(`steady [${DIALECT}]: ${backpressure.length} answered 429 (in flight)`);
      expect(unexpected.slice(0, 5)).toEqual([]);
      expect(backpressure.length).toBeLessThanOrEqual(steady.sent * 0.05);
      expect(steady.sent).toBeGreaterThan(rate * (STEADY_MS / 1000) * 0.8);

      // Overload: three times the rate on one workspace's app, while a second workspace
      // reads at a trickle and must be served throughout.
      const other = await initWorkspace(testDb, 'Neighbour', 'neighbour@reliability.test');
      const neighbourAdmin = await login(server.url, other.email, other.password);
      const neighbourApp = await appWithToken(neighbourAdmin);
      const neighbour = new CompanyMix(server.url, neighbourApp.token, ANSWER_WITHIN_MS);
      await neighbour.seed(20);

      const trickle = openLoop(() => neighbour.one(), { perSecond: 4, ms: OVERLOAD_MS });
      const overload = await openLoop(() => mix.one(), {
        perSecond: rate * 3,
        ms: OVERLOAD_MS,
        maxOutstanding: 400,
      });
      const stoppedAt = overload.endedAt;
      const neighbourOutcomes = (await trickle).outcomes;
      console.log(line('overload', overload, rate * 3));
      const neighbourP99 = percentile(
        neighbourOutcomes.map((o) => o.ms),
        99,
      );
      console.log(
        `neighbour [${DIALECT}]: sent ${neighbourOutcomes.length}, p99 ${neighbourP99.toFixed(1)} ms`,
      );

      const refused = overload.outcomes.filter(
        (o) =>
          !(o.status >= 200 && o.status < 300) &&
          !(o.status === 429 && o.retryAfter) &&
          !(o.status === 503 && o.retryAfter && o.detail?.includes('"overloaded"') === true),
      );
      expect(refused.slice(0, 5)).toEqual([]);
      // Shed, not queued: refusals and answers alike come back quickly.
      const everyAnswer = percentile(
        overload.outcomes.map((o) => o.ms),
        99,
      );
      console.log(`overload [${DIALECT}]: p99 of every answer ${everyAnswer.toFixed(1)} ms`);
      expect(everyAnswer).toBeLessThan(2_000);
      expect(server.child.exitCode).toBeNull();
      expect(neighbourOutcomes.length).toBeGreaterThanOrEqual(OVERLOAD_MS / 500);
      expect(neighbourOutcomes.filter((o) => o.status < 200 || o.status >= 300)).toEqual([]);

      // Recovery: within 10 s of the load stopping, a light mix is answered in full again.
      let recovered = false;
      while (!recovered && performance.now() - stoppedAt < 10_000) {
        const probe = await openLoop(() => mix.one(), { perSecond: 20, ms: 1_000 });
        recovered = probe.outcomes.every((o) => o.status >= 200 && o.status < 300);
      }
      expect(recovered, 'answered in full within 10 s').toBe(true);
    },
  );
});
