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
} from './support/harness.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LIMIT = 20;

async function status(url: string, token: string): Promise<number> {
  const response = await fetch(`${url}/companies?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

// Scale-out means several processes on one database server; a SQLite file has one writer.
describe.runIf(DIALECT === 'postgres')('two server processes on one PostgreSQL and Redis', () => {
  const servers: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    'share rate limits, see revocations at once and both log every request',
    { timeout: 180_000 },
    async () => {
      const database = await createTestDatabase();
      testDb = database;
      const a = await bootServer(database, { REDIS_URL });
      servers.push(a);
      const b = await bootServer(database, { REDIS_URL });
      servers.push(b);
      const admin = await login(a.url);

      // Shared limits: alternating between the processes, the app gets its limit per
      // window in all, where two local counters would give it twice that.
      const limited = await appWithToken(admin, LIMIT);
      const started = performance.now();
      const statuses: number[] = [];
      for (let i = 0; i < LIMIT * 2; i += 1) {
        statuses.push(await status(a.url, limited.token), await status(b.url, limited.token));
      }
      const windows = Math.floor((performance.now() - started) / 1000) + 2;
      const allowed = statuses.filter((s) => s === 200).length;
      console.log(
        `scale-out: ${allowed} of ${statuses.length} allowed at ${LIMIT}/s over ${windows} windows`,
      );
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
      expect(allowed).toBeGreaterThanOrEqual(LIMIT);
      expect(allowed).toBeLessThanOrEqual(LIMIT * windows);
      expect(allowed).toBeLessThan(statuses.length);

      // Revocation on one process is refused by the other on the very next request.
      const rounds = SOAK ? 100 : 20;
      const revoked = await appWithToken(admin);
      const late: number[] = [];
      let windowMs = 0;
      for (let round = 0; round < rounds; round += 1) {
        const issued = await admin.call('POST', `/manage/private-apps/${revoked.id}/tokens`, {});
        const token = String(issued.token);
        const info = issued.info as { id: string };
        expect(await status(b.url, token)).toBe(200);
        await admin.call('DELETE', `/manage/private-apps/${revoked.id}/tokens/${info.id}`);
        const revokedAt = performance.now();
        let answer = await status(b.url, token);
        if (answer !== 401) late.push(round);
        while (answer !== 401 && performance.now() - revokedAt < 1_000) {
          answer = await status(b.url, token);
        }
        windowMs = Math.max(windowMs, performance.now() - revokedAt);
        expect(answer, `round ${round}`).toBe(401);
      }
      console.log(
        `scale-out: ${rounds} revocations, ${late.length} still served once by the other ` +
          `process (rounds ${late.join(', ') || 'none'}), refused everywhere within ` +
          `${windowMs.toFixed(0)} ms`,
      );
      // The delete answers only once the other process has acknowledged the eviction.
      expect(late).toEqual([]);

      // Request logs: every request either process answered has its row.
      const logged = await appWithToken(admin);
      const sent = SOAK ? 2_000 : 300;
      // Twenty at a time: under the per-app in-flight cap of each process.
      const answers: number[] = [];
      for (let i = 0; i < sent; i += 20) {
        const wave = Array.from({ length: 20 }, (_, j) =>
          status((i + j) % 2 === 0 ? a.url : b.url, logged.token),
        );
        answers.push(...(await Promise.all(wave)));
      }
      expect(answers.filter((s) => s !== 200)).toEqual([]);
      const count = async () => {
        const row = await database.database.db
          .selectFrom('request_logs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('app_id', '=', logged.id)
          .executeTakeFirstOrThrow();
        return Number(row.n);
      };
      // Rows are written in batches off the request path: wait a few flush intervals.
      const deadline = Date.now() + 10_000;
      while ((await count()) < sent && Date.now() < deadline) await sleep(200);
      console.log(`scale-out: ${sent} requests over two processes, ${await count()} log rows`);
      expect(await count()).toBe(sent);
    },
  );
});
