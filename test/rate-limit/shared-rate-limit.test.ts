import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/config.js';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/server.js';
import { createAppWithToken, bearer } from '../helpers/private-apps.js';
import { createTestApp, TEST_PASSWORD_COST, type TestApp } from '../helpers/test-app.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_PORT = Number(new URL(REDIS_URL).port || 6379);
const VIEW = { create: false, view: true, update: false, remove: false, export: false };

describe('rate limits shared through Redis', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function appOn(t: TestApp, redis: Redis): Promise<FastifyInstance> {
    const app = await buildApp({
      config: parseConfig({ LOG_LEVEL: 'silent' }),
      database: t.testDb.database,
      redis,
      passwordCost: TEST_PASSWORD_COST,
      // A long window keeps the count in one window however slow the machine is.
      appRateLimit: { defaultPerSecond: 150, maxInFlight: 50, windowMs: 60_000 },
    });
    cleanups.push(() => app.close());
    return app;
  }

  function redisClient(url: string): Redis {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    return redis;
  }

  async function seeded() {
    const t = await createTestApp();
    cleanups.push(() => t.close());
    const admin = await t.login();
    const created = await createAppWithToken(t, admin, { models: { Company: VIEW }, fields: {} });
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${created.id}`,
      payload: { rateLimitPerSecond: 5 },
    });
    return { t, created };
  }

  it('counts one app’s requests across two processes', async () => {
    const { t, created } = await seeded();
    const redis = redisClient(REDIS_URL);
    await new Promise((resolve) => redis.once('ready', resolve));
    const [first, second] = [await appOn(t, redis), await appOn(t, redis)];
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      for (const app of [first, second]) {
        const response = await app.inject({ url: '/myprofile', headers: bearer(created.token) });
        statuses.push(response.statusCode);
      }
    }
    // Shared, the two processes allow 5 in the window between them; apart, 5 each.
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(11);
  });

  it('falls back to local counters while Redis is away, and returns to Redis after', async () => {
    const { t, created } = await seeded();
    const proxy = new TcpProxy(REDIS_PORT);
    await proxy.start();
    const redis = new Redis(`redis://127.0.0.1:${proxy.port}`, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: () => 100,
    });
    redis.on('error', () => {});
    cleanups.push(() => redis.disconnect());
    cleanups.push(() => proxy.cut());
    await new Promise((resolve) => redis.once('ready', resolve));
    const app = await appOn(t, redis);
    const call = () => app.inject({ url: '/myprofile', headers: bearer(created.token) });

    await proxy.cut();
    const during: number[] = [];
    const slowest: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const started = performance.now();
      during.push((await call()).statusCode);
      slowest.push(performance.now() - started);
    }
    // No request waits on the missing Redis, which ioredis would hold for its 10 s connect
    // timeout; the margin over the 250 ms command timeout is for a loaded machine.
    expect(Math.max(...slowest)).toBeLessThan(2_500);
    // The local counter still limits: never blocked outright, never unlimited.
    expect(during.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(during).toContain(429);

    await proxy.start(proxy.port);
    await new Promise((resolve) => redis.once('ready', resolve));
    const inspector = new Redis(REDIS_URL);
    cleanups.push(() => inspector.disconnect());
    await inspector.del(...(await inspector.keys(`*${created.id}*`)), 'none');
    expect((await call()).statusCode).toBe(200);
    // Counting is back in Redis: the request left its counter there.
    expect(await inspector.keys(`*${created.id}*`)).toHaveLength(1);
  });
});
