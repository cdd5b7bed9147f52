import { createServer, type Server, type Socket } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../src/db/unavailable.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

/** A TCP server that does `onConnection` to every client, standing in for a sick database. */
async function fakeServer(onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

async function failure(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the work to fail');
}

function postgresError(code: string): pg.DatabaseError {
  const error = new pg.DatabaseError('the server said no', 0, 'error');
  error.code = code;
  return error;
}

describe('telling a database that is away from a query that is wrong', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('recognises a refused, a cut and a silent PostgreSQL connection', async () => {
    const refused = await failure(async () => {
      const client = new pg.Client({ host: '127.0.0.1', port: await closedPort() });
      await client.connect();
    });
    expect(refused).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(refused)).toBe(true);

    const cutter = await fakeServer((socket) => socket.destroy());
    cleanups.push(() => cutter.close());
    const cut = await failure(() =>
      new pg.Client({ host: '127.0.0.1', port: portOf(cutter) }).connect(),
    );
    expect(String(cut)).toMatch(/Connection terminated|ECONNRESET/);
    expect(isDatabaseUnavailable(cut)).toBe(true);

    const sockets: Socket[] = [];
    const silent = await fakeServer((socket) => sockets.push(socket));
    cleanups.push(() => silent.close());
    cleanups.push(() => sockets.forEach((socket) => socket.destroy()));
    // One connection that never completes, and a second query queued behind it.
    const pool = new pg.Pool({
      host: '127.0.0.1',
      port: portOf(silent),
      max: 1,
      connectionTimeoutMillis: 100,
    });
    cleanups.push(() => pool.end());
    const timedOut = await Promise.all([
      failure(() => pool.query('select 1')),
      failure(() => pool.query('select 2')),
    ]);
    expect(timedOut.map(String).sort()).toEqual([
      'Error: Connection terminated due to connection timeout',
      'Error: timeout exceeded when trying to connect',
    ]);
    expect(timedOut.map(isDatabaseUnavailable)).toEqual([true, true]);
  });

  it('recognises PostgreSQL shutting down, starting up, full or cut off', () => {
    for (const code of ['57P01', '57P02', '57P03', '53300', '08000', '08006', '08P01']) {
      expect(isDatabaseUnavailable(postgresError(code)), code).toBe(true);
    }
    for (const code of ['23505', '42P01', '42601', '22P02', '40001', '57014']) {
      expect(isDatabaseUnavailable(postgresError(code)), code).toBe(false);
    }
  });

  it('recognises an SQLite lock that outlasted busy_timeout, and nothing else', () => {
    const dir = `/tmp/app-center-busy-${process.pid}-${Date.now()}.db`;
    const holder = new BetterSqlite3(dir);
    const waiter = new BetterSqlite3(dir);
    cleanups.push(
      () => holder.close(),
      () => waiter.close(),
    );
    holder.exec('create table t (n integer primary key)');
    waiter.pragma('busy_timeout = 20');
    holder.exec('begin immediate');
    holder.exec('insert into t values (1)');

    let busy: unknown;
    try {
      waiter.exec('insert into t values (2)');
    } catch (error) {
      busy = error;
    }
    expect(busy).toMatchObject({ code: 'SQLITE_BUSY' });
    expect(isDatabaseUnavailable(busy)).toBe(true);
    holder.exec('commit');

    const wrong: unknown[] = [];
    for (const sql of ['insert into t values (1)', 'select nope from t', 'selec 1']) {
      try {
        waiter.exec(sql);
      } catch (error) {
        wrong.push(error);
      }
    }
    expect(wrong).toHaveLength(3);
    expect(wrong.map(isDatabaseUnavailable)).toEqual([false, false, false]);
    expect(isDatabaseUnavailable(new Error('something else'))).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });

  it('finds the connection failure behind a wrapping error', async () => {
    const refused = await failure(async () => {
      await new pg.Client({ host: '127.0.0.1', port: await closedPort() }).connect();
    });
    const wrapped = new Error('could not load the workspace', { cause: refused });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
  });
});

describe('answering while the database is away', () => {
  let t: TestApp | undefined;
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await t?.close();
    t = undefined;
  });

  it('answers 503 with Retry-After and the envelope, and keeps the driver message in the log', async () => {
    t = await createTestApp();
    const session = await t.login();
    const sqlite = t.testDb.database.sqlite;
    if (sqlite === undefined || t.testDb.target.dialect !== 'sqlite') {
      throw new Error('the unit project runs on SQLite');
    }
    // Another process holds the write lock past the server's wait.
    sqlite.pragma('busy_timeout = 50');
    const other = new BetterSqlite3(t.testDb.target.path);
    cleanups.push(() => other.close());
    other.exec('begin immediate');
    cleanups.push(() => other.exec('rollback'));

    const response = await t.as(session, {
      method: 'POST',
      url: '/manage/private-apps',
      payload: { name: 'Blocked' },
    });

    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toMatch(/^[1-9]\d?$/);
    expect(response.json()).toEqual({
      error: 'database_unavailable',
      message: 'The database is not reachable; retry shortly',
      requestId: response.headers['x-request-id'],
    });
    expect(response.body).not.toMatch(/SQLITE|locked|insert|private_apps/i);
    expect(t.logs.join('')).toMatch(/SQLITE_BUSY/);
  });
});
