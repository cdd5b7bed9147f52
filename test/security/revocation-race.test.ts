import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { LocalRevocationBus, type Revocation } from '../../src/tokens/revocation-bus.js';
import { hashToken } from '../../src/tokens/token-format.js';
import { TokenService } from '../../src/tokens/token.service.js';
import { systemPrincipal } from '../../src/workspaces/workspace.service.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const ROUNDS = Number(process.env.RACE_ROUNDS ?? 1000);
/** Zero: at once; negative: that many event-loop turns; positive: that many deletes' time. */
const DELAYS = [0, -1, -4, -12, -30, 0.5, 1, 1.5];

/** Records when each revocation was published: after its commit, so a safe bound. */
class TimedBus extends LocalRevocationBus {
  readonly publishedAt = new Map<string, number>();

  override async publish(revocation: Revocation): Promise<void> {
    if (revocation.kind === 'token') this.publishedAt.set(revocation.tokenHash, performance.now());
    await super.publish(revocation);
  }
}

describe('token use racing token deletion', () => {
  let t: TestApp;
  let bus: TimedBus;
  let service: TokenService;
  let appId: string;
  beforeAll(async () => {
    bus = new TimedBus();
    t = await createTestApp({ logLevel: 'warn' }, { revocations: bus });
    const session = await t.login();
    appId = (await createAppWithToken(t, session, fullPermissions(), 'Racer')).id;
    await t.as(session, {
      method: 'PATCH',
      url: `/manage/private-apps/${appId}`,
      payload: { rateLimitPerSecond: 10_000 },
    });
    service = new TokenService(t.testDb.database.db, bus);
  });
  afterAll(async () => {
    await t.close();
  });

  it(`never serves a request that starts after the delete committed (${ROUNDS} rounds)`, async () => {
    const principal = systemPrincipal(t.seed.workspace.id);
    const late: string[] = [];
    let before = 0;
    let after = 0;
    let removalMs = 1;
    for (let round = 0; round < ROUNDS; round += 1) {
      const issued = await service.create(principal, appId, {});
      const use = () => t.app.inject({ url: '/myprofile', headers: bearer(issued.token) });
      // Warm rounds race the cache; cold rounds race lookups still in flight at the commit.
      if (round % 2 === 0) expect((await use()).statusCode).toBe(200);

      const tokenHash = hashToken(issued.token);
      const attempts = Array.from({ length: 6 }, async (_, i) => {
        // Spread the requests over the delete: some before, some during, some after.
        const shape = DELAYS[(round + i * 5) % DELAYS.length] ?? 0;
        // Positive delays scale with how long a delete takes on this database.
        const delay = shape > 0 ? Math.round(shape * Math.max(1, removalMs)) : shape;
        if (delay < 0) for (let hop = 0; hop < -delay; hop += 1) await new Promise(setImmediate);
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        const startedAt = performance.now();
        const response = await use();
        return { startedAt, status: response.statusCode };
      });
      const removalStarted = performance.now();
      const removal = service
        .remove(principal, appId, issued.info.id)
        .then(() => (removalMs = 0.8 * removalMs + 0.2 * (performance.now() - removalStarted)));
      const results = await Promise.all(attempts);
      await removal;
      const committedBy = bus.publishedAt.get(tokenHash) ?? Infinity;
      for (const { startedAt, status } of results) {
        if (startedAt > committedBy) {
          after += 1;
          if (status !== 401) late.push(`round ${round}: ${status}`);
        } else before += 1;
      }
      const next = await use();
      if (next.statusCode !== 401) late.push(`round ${round}: ${next.statusCode} after the delete`);
    }
    expect(late).toEqual([]);
    // The race really interleaved: requests landed on both sides of the commit.
    expect(after).toBeGreaterThan(ROUNDS / 2);
    expect(before).toBeGreaterThan(ROUNDS / 2);
  }, 180_000);
});
