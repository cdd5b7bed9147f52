// Analytics ingestion: bulk posts of 5,000 activities over HTTP against the raw
// better-sqlite3 (or PostgreSQL) insert of the same rows, and single-activity posts.
//
//   npx tsx bench/analytics.bench.ts [--quick]
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/analytics.bench.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { normalizeActivity } from '../src/analytics/activity-payload.js';
import { createAnalyticsWriter, type ActivityRow } from '../src/analytics/analytics.repository.js';
import { parseDatabaseUrl } from '../src/config/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { getModel } from '../src/records/model-catalogue.js';
import { RecordService } from '../src/records/record.service.js';
import { initWorkspace, systemPrincipal } from '../src/workspaces/workspace.service.js';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { CPU_TICK_MICROS, PeakMemory, processCpuMicros } from './lib/process-usage.js';

interface CannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  method: 'POST' | 'GET';
  connections: number;
  duration: number;
  headers: Record<string, string>;
  body?: string;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SERVER = fileURLToPath(new URL('./analytics-server.ts', import.meta.url));
const BATCH = 5_000;
const TARGET_PER_SECOND = 100_000;
const WARM_UP_POSTS = 3;

/** Activity-shaped items as an exporter sends them: 2,000 users in 300 companies. */
function activityItems(count: number, offset: number) {
  const start = Date.UTC(2024, 0, 1);
  return Array.from({ length: count }, (_, index) => {
    const i = offset + index;
    return {
      email: `user${i % 2_000}@customer${i % 300}.example`,
      externalId: `user-${i % 2_000}`,
      companyExternalId: `company-${i % 300}`,
      action: ['Logged in', 'Viewed dashboard', 'Exported report'][i % 3],
      date: new Date(start + i * 1_000).toISOString(),
      info: { page: '/reports/weekly', plan: 'pro' },
    };
  });
}

/** The rows ingestion makes of those items, for the raw insert. */
function rowsOf(items: unknown[]): ActivityRow[] {
  const now = new Date();
  return items.map((item) => {
    const result = normalizeActivity(item, now);
    if (!result.ok) throw new Error(result.error);
    const activity = result.activity;
    return {
      time: Date.parse(activity.date),
      action: activity.action,
      weight: activity.weight,
      count: activity.count,
      email: activity.email ?? null,
      externalId: activity.externalId ?? null,
      companyExternalId: activity.companyExternalId ?? null,
      name: activity.name ?? null,
      endUserId: null,
      companyId: null,
      info: activity.info === null ? null : JSON.stringify(activity.info),
    };
  });
}

interface Target {
  label: string;
  url: string;
  database: Database;
  workspaceId: string;
  tenantToken: string;
  drop(): Promise<void>;
}

async function seeded(label: string, url: string, drop: () => Promise<void>): Promise<Target> {
  const database = openDatabase(parseDatabaseUrl(url));
  await migrateToLatest(database);
  const { workspace } = await initWorkspace(database.db, {
    workspaceName: 'Bench',
    adminEmail: 'bench@example.com',
    adminPassword: 'bench password 123',
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  const tenantToken = workspace.tenantToken;
  return { label, url, database, workspaceId: workspace.id, tenantToken, drop };
}

async function sqliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-'));
  return seeded('SQLite', `sqlite:${join(dir, 'analytics.db')}`, async () => {
    rmSync(dir, { recursive: true, force: true });
  });
}

async function postgresTarget(url: string): Promise<Target> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return seeded('PostgreSQL', scoped.toString(), async () => {
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  });
}

interface BenchServer {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

const peakMemory = new PeakMemory();

/** Progress on stderr, so that a long run shows where it is; the table goes to stdout. */
function progress(message: string): void {
  process.stderr.write(`[analytics bench] ${message}\n`);
}

async function startServer(databaseUrl: string): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('{"ready"')) resolve((JSON.parse(line) as { ready: string }).ready);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return {
    url,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        peakMemory.record(child.pid);
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Posts a body and resolves with the status once the whole answer has arrived. */
function post(agent: Agent, url: URL, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      },
    );
    sent.once('error', reject);
    sent.end(body);
  });
}

/** User and system CPU seconds a process (this one by default) has used, all its threads. */
function cpuSecondsOf(pid: number | undefined): number {
  return (processCpuMicros(pid ?? process.pid) ?? 0) / 1e6;
}

/**
 * Items per second of wall time, and per CPU-second of the process doing the work. The
 * second is what one dedicated core would reach; on this shared two-core machine, other
 * work steals wall time but barely changes it.
 */
interface Rate {
  wall: number;
  cpu: number;
}

async function measure(items: number, pid: number | undefined, run: () => Promise<void>) {
  const cpuBefore = cpuSecondsOf(pid);
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  const cpu = Math.max(cpuSecondsOf(pid) - cpuBefore, CPU_TICK_MICROS / 1e6);
  return { wall: items / seconds, cpu: items / cpu };
}

/** Bulk posts, `inFlight` at a time, each one acknowledged before the next is sent. */
function bulkOverHttp(server: BenchServer, tenant: string, bodies: Buffer[], inFlight: number) {
  const url = new URL(`${server.url}/analytics/bulk/${tenant}`);
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  let next = 0;
  return measure(bodies.length * BATCH, server.pid, async () => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < bodies.length) {
          const body = bodies[next] as Buffer;
          next += 1;
          const status = await post(agent, url, body);
          if (status !== 200) throw new Error(`bulk post answered ${status}`);
        }
      }),
    );
    agent.destroy();
  });
}

const INSERT_SQL = `insert into user_activities (workspace_id, received_at, time, action, weight,
  count, email, external_id, company_external_id, name, enduser_id, company_id, info)
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Straight into the database, in transactions of 5,000: on SQLite one reused
 * better-sqlite3 statement per row, on PostgreSQL one unnest insert per batch.
 */
function rawInsert(target: Target, batches: ActivityRow[][]): Promise<Rate> {
  const sqlite = target.database.sqlite;
  if (sqlite === undefined) return writerInsert(target, batches);

  const insert = sqlite.prepare(INSERT_SQL);
  const write = sqlite.transaction((rows: ActivityRow[]) => {
    const at = Date.now();
    for (const r of rows) {
      insert.run(
        target.workspaceId,
        at,
        r.time,
        r.action,
        r.weight,
        r.count,
        r.email,
        r.externalId,
        r.companyExternalId,
        r.name,
        r.endUserId,
        r.companyId,
        r.info,
      );
    }
  });
  return measure(batches.length * BATCH, undefined, async () => {
    for (const rows of batches) write(rows);
  });
}

/** Through the server's own writer (25 rows a statement on SQLite), without HTTP. */
function writerInsert(target: Target, batches: ActivityRow[][]): Promise<Rate> {
  const writer = createAnalyticsWriter(target.database);
  return measure(batches.length * BATCH, undefined, async () => {
    for (const rows of batches) await writer.insertActivities(target.workspaceId, 0, rows);
  });
}

/** The 300 companies and 2,000 end users the bench items name, as records. */
async function seedPeople(target: Target): Promise<void> {
  const records = new RecordService(target.database);
  const principal = systemPrincipal(target.workspaceId);
  const companies = Array.from({ length: 300 }, (_, i) => ({
    name: `Customer ${i}`,
    externalId: `company-${i}`,
  }));
  await records.bulkUpsert(principal, getModel('Company'), companies);
  for (let start = 0; start < 2_000; start += 1_000) {
    const users = Array.from({ length: 1_000 }, (_, index) => {
      const i = start + index;
      return {
        email: `user${i}@customer${i % 300}.example`,
        externalId: `user-${i}`,
        companyId: `extid-company-${i % 300}`,
      };
    });
    await records.bulkUpsert(principal, getModel('EndUser'), users);
  }
}

type Way = 'raw' | 'writer' | 'http' | 'concurrent' | 'known';

/**
 * The same rows into databases of the same schema: straight in, through the server's
 * writer, then as bulk posts over HTTP to a server process. Rounds alternate the ways,
 * as this machine's speed drifts over minutes. Last, posts whose people exist as end
 * users, so that every batch also moves lastActive on 2,000 end users and 300 companies.
 */
async function benchBulk(make: () => Promise<Target>, options: BenchOptions): Promise<Figure[]> {
  const perRound = options.quick ? 6 : 30;
  const rounds = options.quick ? 1 : 3;
  const items = Array.from({ length: perRound }, (_, batch) => activityItems(BATCH, batch * BATCH));
  const bodies = items.map((batch) => Buffer.from(JSON.stringify(batch)));
  const rows = items.map(rowsOf);

  const raw = await make();
  progress(`${raw.label}: preparing the databases and servers`);
  const written = await make();
  const served = await make();
  const known = await make();
  await seedPeople(known);
  const [server, knownServer] = await Promise.all([
    startServer(served.url),
    startServer(known.url),
  ]);
  progress(`${raw.label}: bulk ingestion`);
  const rates: Record<Way, Rate[]> = { raw: [], writer: [], http: [], concurrent: [], known: [] };
  let single: Figure[] | undefined;
  try {
    // A running server has compiled its hot paths long since; a fresh one has not, and in
    // the quick run's single round its first way would pay for that alone.
    const warmUp = bodies.slice(0, WARM_UP_POSTS);
    await bulkOverHttp(server, served.tenantToken, warmUp, 1);
    await bulkOverHttp(knownServer, known.tenantToken, warmUp, 1);
    for (let round = 0; round < rounds; round += 1) {
      rates.raw.push(await rawInsert(raw, rows));
      rates.writer.push(await writerInsert(written, rows));
      rates.http.push(await bulkOverHttp(server, served.tenantToken, bodies, 1));
      rates.concurrent.push(await bulkOverHttp(server, served.tenantToken, bodies, 4));
      rates.known.push(await bulkOverHttp(knownServer, known.tenantToken, bodies, 1));
    }
    progress(`${raw.label}: single-activity posts`);
    single = await benchSingle(server, served, options);
  } finally {
    await server.stop();
    await knownServer.stop();
    for (const target of [raw, written, served, known]) {
      await target.database.close();
      await target.drop();
    }
  }

  const label = raw.label;
  const sqlite = label === 'SQLite';
  const wall = (way: Way) => median(rates[way].map((rate) => rate.wall));
  const cpu = (way: Way) => median(rates[way].map((rate) => rate.cpu));
  const target = sqlite ? `≥ ${TARGET_PER_SECOND.toLocaleString('en-US')}` : undefined;
  const compared = (figure: string, value: number, baseline: number, withTarget: boolean) => ({
    figure: `${label}: ${figure}`,
    value,
    unit: 'items/s',
    baseline,
    ratio: value / baseline,
    ...(withTarget && target !== undefined ? { target, met: value >= TARGET_PER_SECOND } : {}),
  });

  const figures: Figure[] = [
    { figure: `${label}: raw insert, 5,000 per transaction`, value: wall('raw'), unit: 'rows/s' },
    compared("the server's writer alone", wall('writer'), wall('raw'), false),
    compared('bulk over HTTP, 5,000 per post, 1 in flight', wall('http'), wall('raw'), true),
    compared('bulk over HTTP, 5,000 per post, 4 in flight', wall('concurrent'), wall('raw'), true),
    compared('bulk over HTTP, people known as end users', wall('known'), wall('raw'), false),
  ];
  // On PostgreSQL the database's own process does much of the work, out of sight.
  if (sqlite) {
    figures.push(
      {
        figure: `${label}: raw insert, per CPU-second`,
        value: cpu('raw'),
        unit: 'rows/s',
      },
      compared('bulk over HTTP, 1 in flight, per server CPU-second', cpu('http'), cpu('raw'), true),
      compared(
        'bulk over HTTP, 4 in flight, per server CPU-second',
        cpu('concurrent'),
        cpu('raw'),
        true,
      ),
      compared('bulk, known end users, per server CPU-second', cpu('known'), cpu('raw'), false),
    );
  }
  return [...figures, ...(single ?? [])];
}

/** Single-activity posts from 50 connections, against GET /healthz on the same server. */
async function benchSingle(
  server: BenchServer,
  target: Target,
  options: BenchOptions,
): Promise<Figure[]> {
  const duration = options.quick ? 2 : 8;
  const body = JSON.stringify({
    email: 'ada@example.com',
    externalId: 'user-1',
    companyExternalId: 'acme',
    action: 'Logged in',
    info: { page: '/home' },
  });
  /** The run, and the server's CPU microseconds per request in it. */
  const run = async (path: string, method: 'POST' | 'GET') => {
    const before = cpuSecondsOf(server.pid);
    const result = await autocannon({
      url: `${server.url}${path}`,
      method,
      connections: 50,
      duration,
      headers: { 'content-type': 'application/json' },
      ...(method === 'POST' ? { body } : {}),
    });
    const cpu = ((cpuSecondsOf(server.pid) - before) * 1e6) / result.requests.total;
    return { result, cpu };
  };
  const bare = await run('/healthz', 'GET');
  const single = await run(`/analytics/${target.tenantToken}`, 'POST');
  if (single.result.non2xx > 0 || single.result.errors > 0) {
    const { non2xx, errors } = single.result;
    throw new Error(`single posts failed: ${non2xx} non-2xx, ${errors} errors`);
  }
  const label = `${target.label}: single-activity POST`;
  return [
    {
      figure: `${label}, 50 connections (baseline GET /healthz)`,
      value: single.result.requests.average,
      unit: 'req/s',
      baseline: bare.result.requests.average,
      ratio: single.result.requests.average / bare.result.requests.average,
    },
    {
      figure: `${label}, server CPU per request`,
      value: single.cpu,
      unit: 'µs',
      baseline: bare.cpu,
      ratio: single.cpu / bare.cpu,
    },
  ];
}

export async function benchAnalytics(options: BenchOptions): Promise<Figure[]> {
  const figures = [
    ...(await benchBulk(sqliteTarget, options)),
    ...peakMemory.take('SQLite analytics runs'),
  ];
  const postgresUrl = options.postgresUrl;
  if (postgresUrl !== undefined) {
    const make = () => postgresTarget(postgresUrl);
    figures.push(
      ...(await benchBulk(make, options)),
      ...peakMemory.take('PostgreSQL analytics runs'),
    );
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchAnalytics({
    quick: process.argv.includes('--quick'),
    postgresUrl: process.env.BENCH_DATABASE_URL,
  });
  printTable(figures);
}
