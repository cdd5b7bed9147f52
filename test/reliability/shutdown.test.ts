import { connect, type Socket } from 'node:net';
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
const CONNECTIONS = 20;

/** How one raw HTTP/1.1 exchange ended: the status line, or the socket error. */
interface Exchange {
  status: string;
  closed: boolean;
  error?: string;
}

function openConnection(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes one keep-alive request and reads one whole answer, or the error that ended it. */
function exchange(socket: Socket, path: string): Promise<Exchange> {
  return new Promise((resolve) => {
    let received = '';
    const done = (result: Exchange) => {
      socket.removeAllListeners('data');
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      resolve(result);
    };
    const statusLine = () => received.split('\r\n')[0] ?? '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      const closed = /\r\nconnection: *close/i.test(received.slice(0, end));
      done({ status: statusLine(), closed });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      done({ status: statusLine(), closed: true, error: error.code ?? error.message });
    });
    socket.on('close', () => done({ status: statusLine(), closed: true, error: 'closed' }));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n`);
  });
}

describe('SIGTERM under load', () => {
  const servers: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await stopAll(servers);
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    'answers requests that reached a stalled server before SIGTERM, rather than resetting them',
    { timeout: 60_000 },
    async () => {
      testDb = await createTestDatabase();
      const server = await bootServer(testDb);
      servers.push(server);
      const sockets = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => openConnection(server.url)),
      );
      const warm = await Promise.all(sockets.map((socket) => exchange(socket, '/healthz')));
      expect(warm.map((w) => w.status)).toEqual(Array(CONNECTIONS).fill('HTTP/1.1 200 OK'));

      // Stopped, the server reads and accepts nothing: requests wait in their sockets and new
      // connections in the listen backlog, as behind a stalled event loop, and SIGTERM
      // arrives before the server has seen any of them.
      server.child.kill('SIGSTOP');
      const fresh = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => openConnection(server.url)),
      );
      const answers = Promise.all(
        [...sockets, ...fresh].map((socket) => exchange(socket, '/healthz')),
      );
      await sleep(200);
      const exit = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await sleep(100);
      server.child.kill('SIGCONT');
      const outcomes = await answers;
      await exit;
      servers.splice(0);
      for (const socket of [...sockets, ...fresh]) socket.destroy();

      // Answered in full; a 503 must also tell the client to close the connection.
      const unanswered = outcomes.filter(
        (o) =>
          o.error !== undefined ||
          !/^HTTP\/1\.1 (200|503) /.test(o.status) ||
          (o.status.startsWith('HTTP/1.1 503') && !o.closed),
      );
      console.log(
        `shutdown [${DIALECT}] stalled: ${outcomes.length - unanswered.length}/${outcomes.length} ` +
          `answered (${[...new Set(outcomes.map((o) => o.status || o.error))].join(', ')})`,
      );
      expect(unanswered).toEqual([]);
    },
  );

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

        // Sent before the signal: each one answered. After it: answered, refused or 503.
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
        expect(dropped.map((o) => o.detail ?? '')).toEqual([]);
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
