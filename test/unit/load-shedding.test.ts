import { afterEach, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Saturated by a loop kept busy, not by one task holding it for a whole window. */
function saturated(t: TestApp): boolean {
  return t.app.isUnderPressure() && Number.isFinite(t.app.memoryUsage().eventLoopDelay);
}

/** Keeps the event loop busy in 40 ms slices until the app says it is saturated. */
async function saturate(t: TestApp): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!saturated(t)) {
    if (performance.now() > deadline) throw new Error('the event loop never looked saturated');
    const until = performance.now() + 40;
    while (performance.now() < until) {
      // Busy on purpose: a request handler stuck in synchronous work looks the same.
    }
    await sleep(1);
  }
}

/** Shedding past 20 ms of delay, measured once a second so a saturated reading holds. */
function sheddingApp(): Promise<TestApp> {
  return createTestApp({
    overload: {
      maxEventLoopDelayMs: 20,
      maxEventLoopUtilizationPercent: 0,
      sampleIntervalMs: 1_000,
      quietPerSecond: 5,
    },
  });
}

describe('shedding load while the event loop is saturated', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('refuses the busy workspace with 503 and Retry-After, and serves the quiet one and the probes', async () => {
    t = await sheddingApp();
    const app = t;
    const busy = await app.login();
    await app.seedWorkspace('Quiet', 'admin@quiet.test');
    const quiet = await app.login('admin@quiet.test');
    const settings = { method: 'GET', url: '/manage/settings' } as const;

    expect((await app.as(busy, settings)).statusCode).toBe(200);

    // Five a second over up to two one-second windows: the first ten are a trickle.
    await saturate(app);
    const answers = [];
    for (let i = 0; i < 20; i += 1) answers.push(await app.as(busy, settings));
    const quietAnswer = await app.as(quiet, settings);
    const probes = await Promise.all(
      ['/healthz', '/readyz', '/metrics'].map((url) => app.app.inject({ url })),
    );
    expect(saturated(app), 'still saturated while asking').toBe(true);

    const statuses = answers.map((answer) => answer.statusCode);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(200));
    expect(statuses.slice(-5)).toEqual(Array(5).fill(503));
    for (const answer of answers.filter((a) => a.statusCode === 503)) {
      expect(answer.statusCode).toBe(503);
      expect(answer.headers['retry-after']).toBe('1');
      expect(answer.json()).toEqual({
        error: 'overloaded',
        message: 'The server is overloaded; retry shortly',
        requestId: answer.headers['x-request-id'],
      });
    }
    expect(quietAnswer.statusCode).toBe(200);
    expect(probes.map((probe) => probe.statusCode)).toEqual([200, 200, 200]);
  });

  it('tells Tenant Token ingestion apart by tenant, shedding only the busy one', async () => {
    t = await sheddingApp();
    const app = t;
    const other = await app.seedWorkspace('Quiet', 'admin@quiet.test');
    const post = (tenantToken: string) =>
      app.app.inject({
        method: 'POST',
        url: `/analytics/${tenantToken}`,
        payload: { email: 'ann@acme.test', action: 'Logged in' },
      });
    expect((await post(app.seed.workspace.tenantToken)).statusCode).toBe(200);

    await saturate(app);
    const busy = [];
    for (let i = 0; i < 20; i += 1) busy.push(await post(app.seed.workspace.tenantToken));
    const quietAnswer = await post(other.workspace.tenantToken);
    expect(saturated(app), 'still saturated while asking').toBe(true);

    expect(busy.slice(-5).map((answer) => answer.statusCode)).toEqual(Array(5).fill(503));
    expect(quietAnswer.statusCode).toBe(200);
  });

  it('sheds nothing when both measures are turned off', async () => {
    t = await createTestApp({
      overload: {
        maxEventLoopDelayMs: 0,
        maxEventLoopUtilizationPercent: 0,
        sampleIntervalMs: 50,
        quietPerSecond: 0,
      },
    });
    const session = await t.login();
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // A stalled loop, which with a threshold set would be shed.
    }
    await sleep(60);
    const answers = [];
    for (let i = 0; i < 10; i += 1) {
      answers.push((await t.as(session, { method: 'GET', url: '/manage/settings' })).statusCode);
    }
    expect(answers).toEqual(Array(10).fill(200));
  });
});
