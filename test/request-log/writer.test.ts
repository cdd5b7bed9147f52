import { afterEach, describe, expect, it } from 'vitest';
import {
  RequestLogWriter,
  type RequestLogEntry,
  type RequestLogStore,
  type RequestLogWriterOptions,
  type TokenUse,
} from '../../src/request-log/request-log.writer.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { createLogTestApp, logEntry } from './log-helpers.js';

const SCOPE = { workspaceId: 'w1', appId: 'a1', tokenId: 't1' };

/** Records every write; can be made to fail or to hang until released. */
class FakeStore implements RequestLogStore {
  writes: Array<{ entries: RequestLogEntry[]; uses: TokenUse[] }> = [];
  failing = false;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  get rows(): RequestLogEntry[] {
    return this.writes.flatMap((write) => write.entries);
  }

  async write(entries: readonly RequestLogEntry[], uses: readonly TokenUse[]): Promise<void> {
    await this.gate;
    if (this.failing) throw new Error('database unavailable');
    this.writes.push({ entries: [...entries], uses: [...uses] });
  }
}

function writerWith(store: RequestLogStore, overrides: Partial<RequestLogWriterOptions> = {}) {
  const events = { written: 0, dropped: 0, warnings: [] as number[], errors: 0 };
  const writer = new RequestLogWriter(store, {
    maxBuffered: 1_000,
    flushRows: 100,
    chunkRows: 50,
    intervalMs: 60_000,
    onWritten: (rows) => (events.written += rows),
    onDropped: (rows) => (events.dropped += rows),
    warnDropped: (rows) => events.warnings.push(rows),
    onError: () => (events.errors += 1),
    ...overrides,
  });
  return { writer, events };
}

const entries = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => logEntry(SCOPE, { path: `/r/${from + i}` }));

describe('request log writer', () => {
  it('writes in chunks, giving the event loop a turn between them', async () => {
    const store = new FakeStore();
    const { writer, events } = writerWith(store, { flushRows: 10_000 });
    for (const entry of entries(120)) writer.enqueue(entry);

    const turns: number[] = [];
    const flushed = writer.flush();
    const tick = () => {
      turns.push(store.writes.length);
      if (turns.length < 10) setImmediate(tick);
    };
    setImmediate(tick);
    await flushed;

    expect(store.writes.map((write) => write.entries.length)).toEqual([50, 50, 20]);
    expect(new Set(turns).size).toBeGreaterThan(1);
    expect(events.written).toBe(120);
  });

  it('sends one last-used update per token, the latest, with the first chunk', async () => {
    const store = new FakeStore();
    const { writer } = writerWith(store, { flushRows: 10_000 });
    const at = Date.UTC(2030, 0, 1);
    writer.enqueue(logEntry(SCOPE, { at, ip: '10.0.0.1' }));
    writer.enqueue(logEntry(SCOPE, { at: at + 5, ip: '10.0.0.2' }));
    writer.enqueue(logEntry(SCOPE, { at: at + 9, ip: '10.0.0.3', accepted: false }));
    writer.enqueue(logEntry({ ...SCOPE, tokenId: 't2' }, { at: at + 1, ip: '10.0.0.4' }));
    for (const entry of entries(60)) writer.enqueue({ ...entry, accepted: false });
    await writer.flush();

    expect(store.writes[0]?.uses).toEqual([
      { workspaceId: 'w1', tokenId: 't1', at: new Date(at + 5).toISOString(), ip: '10.0.0.2' },
      { workspaceId: 'w1', tokenId: 't2', at: new Date(at + 1).toISOString(), ip: '10.0.0.4' },
    ]);
    expect(store.writes[1]?.uses).toEqual([]);
  });

  it('flushes by size without being asked', async () => {
    const store = new FakeStore();
    const { writer } = writerWith(store, { flushRows: 100 });
    for (const entry of entries(99)) writer.enqueue(entry);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.rows).toHaveLength(0);
    writer.enqueue(logEntry(SCOPE));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(store.rows).toHaveLength(100);
  });

  it('flushes by time, at the interval', async () => {
    const store = new FakeStore();
    const { writer } = writerWith(store, { intervalMs: 50 });
    writer.start();
    writer.enqueue(logEntry(SCOPE));
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(store.rows).toHaveLength(1);
    await writer.close();
  });

  it('drops rows past the bound, counts each, and warns once per window', async () => {
    const store = new FakeStore();
    store.hold();
    const { writer, events } = writerWith(store, { maxBuffered: 10, intervalMs: 40 });
    writer.start();
    for (const entry of entries(25)) writer.enqueue(entry);
    expect(writer.buffered).toBe(10);
    expect(events.dropped).toBe(15);

    await new Promise((resolve) => setTimeout(resolve, 130));
    expect(events.warnings).toEqual([15]);
    store.release();
    await writer.close();
    expect(store.rows).toHaveLength(10);
    expect(events.warnings).toEqual([15]);
  });

  it('keeps rows when a write fails and writes them once the database is back', async () => {
    const store = new FakeStore();
    store.failing = true;
    const { writer, events } = writerWith(store, { flushRows: 10_000 });
    for (const entry of entries(120)) writer.enqueue(entry);
    await writer.flush();
    expect(events.errors).toBe(1);
    expect(writer.buffered).toBe(120);

    for (const entry of entries(5, 120)) writer.enqueue(entry);
    store.failing = false;
    await writer.flush();
    expect(store.rows.map((row) => row.path)).toEqual(
      Array.from({ length: 125 }, (_, i) => `/r/${i}`),
    );
    expect(writer.buffered).toBe(0);
  });

  it('writes every row on close, even while a flush is running', async () => {
    const store = new FakeStore();
    const { writer } = writerWith(store, { maxBuffered: 5_000, flushRows: 100, chunkRows: 30 });
    writer.start();
    for (const entry of entries(1_234)) writer.enqueue(entry);
    await writer.close();
    expect(store.rows).toHaveLength(1_234);
    expect(new Set(store.rows.map((row) => row.path)).size).toBe(1_234);
  });
});

describe('request log writer in the app', () => {
  let t: TestApp;
  let release = () => {};
  afterEach(async () => {
    release();
    await t.close();
  });

  it('counts dropped rows in a metric and logs one warning per window', async () => {
    const store = new FakeStore();
    store.hold();
    release = () => store.release();
    t = await createLogTestApp({
      requestLog: { store, maxBuffered: 5, flushRows: 1_000, flushIntervalMs: 60 },
    });
    const admin = await t.login();
    const app = await createAppWithToken(t, admin, { models: {}, fields: {} });
    await Promise.all(
      Array.from({ length: 12 }, () =>
        t.app.inject({ method: 'GET', url: '/myprofile', headers: bearer(app.token) }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));

    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    const dropped = Number(
      /^app_center_request_log_rows_dropped_total (\d+)$/m.exec(metrics.body)?.[1],
    );
    expect(dropped).toBeGreaterThan(0);
    const warnings = t.logs
      .map((line) => JSON.parse(line))
      .filter((line) => line.msg === 'request log buffer full: rows dropped');
    expect(warnings.every((line) => line.level === 40)).toBe(true);
    expect(warnings.reduce((sum, line) => sum + line.dropped, 0)).toBe(dropped);

    store.release();
    await t.app.requestLog.flush();
    expect(store.rows.length + dropped).toBe(12);
  });

  it('flushes everything on close: as many rows as requests', async () => {
    t = await createTestApp();
    const admin = await t.login();
    const app = await createAppWithToken(t, admin, { models: {}, fields: {} });
    const sent = 1_234;
    for (let wave = 0; wave < sent; wave += 40) {
      const count = Math.min(40, sent - wave);
      await Promise.all(
        Array.from({ length: count }, () =>
          t.app.inject({ method: 'GET', url: '/myprofile', headers: bearer(app.token) }),
        ),
      );
    }
    // Some waves hit the app's limits (429): those are logged too.
    expect(t.app.requestLog.buffered).toBeGreaterThan(0);
    await t.app.close();
    const row = await t.testDb.database.db
      .selectFrom('request_logs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(row.n)).toBe(sent);
  });
});
