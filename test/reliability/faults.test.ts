import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerProcess } from '../helpers/server-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import {
  appWithToken,
  bootServer,
  databaseUrl,
  DIALECT,
  login,
  sleep,
  SOAK,
  stopAll,
} from './support/harness.js';
import { CompanyMix, openLoop, type Outcome } from './support/load.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUEST_TIMEOUT_MS = 5_000;
// Errors may trail the outage while pooled connections are found dead and replaced.
const GRACE_MS = 5_000;

describe('dependencies going away under load', () => {
  const servers: ServerProcess[] = [];
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await testDb?.drop();
    testDb = undefined;
  });

  // Only PostgreSQL is a server that can go away: SQLite is a file inside the process.
  it.runIf(DIALECT === 'postgres')(
    'stays up through a PostgreSQL outage, failing fast during it and only during it',
    { timeout: 180_000 },
    async () => {
      testDb = await createTestDatabase();
      const direct = new URL(databaseUrl(testDb));
      const proxy = new TcpProxy(Number(direct.port || 5432), direct.hostname);
      await proxy.start();
      cleanups.push(() => proxy.cut());
      const viaProxy = new URL(direct);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      const server = await bootServer(testDb, {
        DATABASE_URL: viaProxy.toString(),
        REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      });
      servers.push(server);
      const admin = await login(server.url);
      const app = await appWithToken(admin);
      // The client gives up well after the server should have answered.
      const mix = new CompanyMix(server.url, app.token, REQUEST_TIMEOUT_MS * 3);
      await mix.seed(100);

      const outageMs = SOAK ? 10_000 : 3_000;
      const load = openLoop(() => mix.one(), { perSecond: 50, ms: outageMs + 16_000 });
      await sleep(4_000);
      const cutAt = performance.now();
      await proxy.cut();
      await sleep(outageMs);
      await proxy.start(proxy.port);
      const restoredAt = performance.now();
      const report = await load;

      const failed = (o: Outcome) => o.status < 200 || o.status >= 300;
      const outside = report.outcomes.filter(
        (o) => failed(o) && (o.startedAt + o.ms < cutAt || o.startedAt > restoredAt + GRACE_MS),
      );
      const during = report.outcomes.filter(failed);
      const slowest = Math.max(...report.outcomes.map((o) => o.ms));
      console.log(
        `postgres outage ${outageMs} ms: sent ${report.sent}, ${during.length} failed ` +
          `(${JSON.stringify(report.byStatus)}), slowest ${slowest.toFixed(0)} ms`,
      );
      const output = server.output.filter((l) => l.includes('shutting down')).join('\n');
      expect(server.child.exitCode, output).toBeNull();
      expect(server.child.signalCode, output).toBeNull();
      expect(outside).toEqual([]);
      // An outage is "retry later", never a bare 500 or a dropped request.
      const notRetryable = during.filter(
        (o) => o.status !== 503 || !o.retryAfter || !o.detail?.includes('database_unavailable'),
      );
      expect(notRetryable.slice(0, 5)).toEqual([]);
      expect(during.length).toBeGreaterThan(0);
      expect(slowest).toBeLessThan(REQUEST_TIMEOUT_MS + 2_000);
      const after = report.outcomes.filter((o) => o.startedAt > restoredAt + GRACE_MS);
      expect(after.length).toBeGreaterThan(100);
    },
  );

  it(
    'authenticates without Redis, limits locally within a second, and returns to Redis',
    { timeout: 120_000 },
    async () => {
      testDb = await createTestDatabase();
      const redisPort = Number(new URL(REDIS_URL).port || 6379);
      const proxy = new TcpProxy(redisPort);
      await proxy.start();
      cleanups.push(() => proxy.cut());
      const server = await bootServer(testDb, { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
      servers.push(server);
      const admin = await login(server.url);
      const app = await appWithToken(admin, 20);
      const inspector = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
      cleanups.push(() => inspector.disconnect());
      const counters = () => inspector.keys(`*${app.id}*`);

      const call = async (token: string) => {
        const started = performance.now();
        const response = await fetch(`${server.url}/companies?limit=1`, {
          headers: { authorization: `Bearer ${token}` },
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer();
        return { status: response.status, ms: performance.now() - started };
      };
      const burst = async (count: number) => {
        const results = [];
        for (let i = 0; i < count; i += 1) results.push(await call(app.token));
        return results;
      };

      const shared = await burst(60);
      expect(shared.map((r) => r.status)).toContain(429);
      expect(await counters()).not.toEqual([]);

      await proxy.cut();
      const cutAt = performance.now();
      const first = await call(app.token);
      const sinceCut = performance.now() - cutAt;
      const away = await burst(60);
      const wrong = await call(`${app.token.slice(0, -4)}AAAA`);
      const slowest = Math.max(...away.map((r) => r.ms));
      console.log(
        `redis away [${DIALECT}]: first answer ${first.status} after ${sinceCut.toFixed(0)} ms, ` +
          `slowest ${slowest.toFixed(0)} ms, ${away.filter((r) => r.status === 429).length}/60 limited`,
      );
      expect([200, 429]).toContain(first.status);
      expect(sinceCut).toBeLessThan(1_000);
      expect(slowest).toBeLessThan(1_000);
      expect(wrong.status).toBe(401);
      expect(away.every((r) => r.status === 200 || r.status === 429)).toBe(true);
      expect(away.map((r) => r.status)).toContain(200);
      expect(away.map((r) => r.status)).toContain(429);

      await inspector.del(...(await counters()), 'none');
      await proxy.start(proxy.port);
      const deadline = performance.now() + 15_000;
      let back = false;
      while (!back && performance.now() < deadline) {
        await call(app.token);
        back = (await counters()).length > 0;
        if (!back) await sleep(200);
      }
      const returnedMs = performance.now() - (deadline - 15_000);
      console.log(
        `redis back [${DIALECT}]: counting in Redis again after ${returnedMs.toFixed(0)} ms`,
      );
      expect(back).toBe(true);
      expect((await burst(60)).map((r) => r.status)).toContain(429);
    },
  );
});
