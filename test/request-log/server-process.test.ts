import { afterEach, describe, expect, it } from 'vitest';
import { PrivateAppService } from '../../src/private-apps/private-app.service.js';
import { LocalRevocationBus } from '../../src/tokens/revocation-bus.js';
import { TokenService } from '../../src/tokens/token.service.js';
import { listWorkspaces } from '../../src/workspaces/workspace.repository.js';
import { systemPrincipal } from '../../src/workspaces/workspace.service.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const FLUSH_WINDOW_MS = 1_000;
/** Slack for the flush that was running when the process died, and for scheduling. */
const MARGIN_MS = 250;

function databaseUrl(testDb: TestDatabase): string {
  const target = testDb.target;
  return target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
}

/** A private app with a token and a high rate limit, made in the server's database. */
async function seedApp(testDb: TestDatabase) {
  const db = testDb.database.db;
  const [workspace] = await listWorkspaces(db);
  if (workspace === undefined) throw new Error('the server seeded no workspace');
  const principal = systemPrincipal(workspace.id);
  const bus = new LocalRevocationBus();
  const app = await new PrivateAppService(db, bus).create(principal, { name: 'Load' });
  await new PrivateAppService(db, bus).update(principal, app.id, { rateLimitPerSecond: 10_000 });
  const issued = await new TokenService(db, bus).create(principal, app.id, {});
  return { appId: app.id, token: issued.token };
}

async function countRows(testDb: TestDatabase, appId: string): Promise<number> {
  const row = await testDb.database.db
    .selectFrom('request_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Keeps `workers` requests in flight until stopped, noting when each response arrived.
 * Requests cut off by the server dying are not counted.
 */
function load(url: string, token: string, workers: number) {
  const completed: number[] = [];
  let sent = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      sent += 1;
      try {
        const response = await fetch(`${url}/myprofile`, {
          headers: { authorization: `Bearer ${token}` },
        });
        await response.arrayBuffer();
        completed.push(Date.now());
      } catch {
        return;
      }
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    completed,
    /** Resolves once `count` responses arrived and `ms` passed, or after 20 s. */
    async until(count: number, ms: number) {
      const started = Date.now();
      while (Date.now() - started < 20_000) {
        if (completed.length >= count && Date.now() - started >= ms) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    get sent() {
      return sent;
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

describe('the request log of a server process', () => {
  let server: ServerProcess | undefined;
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    await testDb?.drop();
    server = undefined;
    testDb = undefined;
  });

  it('writes every row before exiting on SIGTERM', async () => {
    testDb = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: databaseUrl(testDb) });
    const { appId, token } = await seedApp(testDb);

    const traffic = load(server.url, token, 16);
    await traffic.until(300, 1_500);
    await traffic.stop();
    const answered = traffic.completed.length;
    expect(answered).toBeGreaterThan(100);

    const exitCode = await server.stop('SIGTERM');
    const output = server.output.join('\n');
    expect(exitCode, output).toBe(0);
    expect(await countRows(testDb, appId), output).toBe(answered);
  }, 60_000);

  it('loses at most one flush window when killed with SIGKILL under load', async () => {
    testDb = await createTestDatabase();
    server = await startServerProcess({ DATABASE_URL: databaseUrl(testDb) });
    const { appId, token } = await seedApp(testDb);

    const traffic = load(server.url, token, 16);
    await traffic.until(300, 4_000);
    const killedAt = Date.now();
    await server.stop('SIGKILL');
    // A process killed by a signal has no exit code, so it must not be stopped again.
    server = undefined;
    await traffic.stop();

    const answered = traffic.completed.filter((at) => at <= killedAt);
    const rows = await countRows(testDb, appId);
    const lastWindow = answered.filter((at) => at > killedAt - FLUSH_WINDOW_MS - MARGIN_MS);
    if (process.env.REQUEST_LOG_TEST_VERBOSE !== undefined) {
      console.log({ answered: answered.length, rows, lastWindow: lastWindow.length });
    }
    expect(answered.length).toBeGreaterThan(100);
    // A response can reach its client before its row is buffered, never the other way.
    expect(rows).toBeLessThanOrEqual(traffic.sent);
    expect(answered.length - rows).toBeLessThanOrEqual(lastWindow.length);
    expect(rows).toBeGreaterThan(answered.length - lastWindow.length - 1);
  }, 60_000);
});
