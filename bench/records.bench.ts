// The main API's record routes against a real server over loopback:
// - GET /companies/{id} with a token, permission check and request log, against the same
//   read on a public route of the same server, and against a bare Fastify server;
// - bulk upsert of 5,000 companies, half new and half matched by externalId;
// - GET /companies?limit=5000 on a workspace of 100,000 companies: latency and memory.
//
//   npx tsx bench/records.bench.ts [--quick] [--bulk]   (--bulk: the bulk upserts alone)
//   BENCH_PROFILE_DIR=/tmp/profiles npx tsx bench/records.bench.ts --quick --bulk
//   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/records.bench.ts
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parseDatabaseUrl } from '../src/config/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { allActions } from '../src/permissions/permission-set.js';
import { PrivateAppService } from '../src/private-apps/private-app.service.js';
import { openRecordStorage } from '../src/records/record.repository.js';
import type { RecordRow } from '../src/records/record-store.js';
import { newObjectId } from '../src/records/record-validation.js';
import { LocalRevocationBus } from '../src/tokens/revocation-bus.js';
import { TokenService } from '../src/tokens/token.service.js';
import { initWorkspace, systemPrincipal } from '../src/workspaces/workspace.service.js';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { PeakMemory } from './lib/process-usage.js';

interface CannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const SERVER = fileURLToPath(new URL('./records-server.ts', import.meta.url));

/** Progress on stderr, so that a long run shows where it is; the table goes to stdout. */
function progress(message: string): void {
  process.stderr.write(`[records bench] ${message}\n`);
}
const COMPANIES = 100_000;
const peakMemory = new PeakMemory();
const BULK = 5_000;

interface Seeded {
  databaseUrl: string;
  workspaceId: string;
  token: string;
  companyId: string;
}

/** A company as a CRM sync leaves it: keys, a few fields, custom values, attribution. */
function companyRow(workspaceId: string, index: number, actor: Record<string, string>): RecordRow {
  const id = newObjectId();
  const now = new Date().toISOString();
  const doc = {
    _id: id,
    name: `Company ${index}`,
    externalId: `co-${index}`,
    sourceId: `0012000001${String(index).padStart(8, '0')}`,
    status: index % 3 === 0 ? 'customer' : 'prospect',
    phase: 'Onboarding',
    domains: [`company${index}.example`],
    tags: ['enterprise', 'emea'],
    custom: { Seats: index % 500, Tier: 'gold', 'Renewal owner': 'Ann Lee' },
    createdAt: now,
    updatedAt: now,
    createdBy: actor,
    updatedBy: actor,
    __v: 0,
  };
  return {
    workspaceId,
    model: 'Company',
    id,
    externalId: doc.externalId,
    sourceId: doc.sourceId,
    companyId: null,
    email: null,
    doc: JSON.stringify(doc),
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** A workspace of 100,000 companies and a private app token that may do anything to them. */
async function seed(databaseUrl: string): Promise<Seeded> {
  const database = openDatabase(parseDatabaseUrl(databaseUrl));
  await migrateToLatest(database);
  const { workspace } = await initWorkspace(database.db, {
    workspaceName: 'Bench',
    adminEmail: `bench-${randomBytes(4).toString('hex')}@example.com`,
    adminPassword: 'bench password 123',
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  const bus = new LocalRevocationBus();
  const principal = systemPrincipal(workspace.id);
  const apps = new PrivateAppService(database.db, bus);
  const app = await apps.create(principal, { name: 'Bench' });
  await apps.update(principal, app.id, {
    permissions: { models: { Company: allActions() }, fields: {} },
  });
  const { token } = await new TokenService(database.db, bus).create(principal, app.id, {});

  const actor = { type: 'app', id: app.id, name: 'Bench' };
  const rows = Array.from({ length: COMPANIES }, (_, i) => companyRow(workspace.id, i, actor));
  await openRecordStorage(database).insertMany(rows);
  database.sqlite?.exec('analyze');
  const companyId = rows[COMPANIES / 2]?.id ?? '';
  await database.close();
  return { databaseUrl, workspaceId: workspace.id, token, companyId };
}

interface Stats {
  cpuMicros: number;
  rss: number;
}

async function startServer(seeded: Seeded, kind: 'app' | 'bare', requestLog = true) {
  // BENCH_PROFILE_DIR=dir writes each server's CPU profile there, as it exits.
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const profile = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', SERVER], {
    env: {
      ...process.env,
      DATABASE_URL: seeded.databaseUrl,
      BENCH_SERVER: kind,
      BENCH_WORKSPACE: seeded.workspaceId,
      BENCH_REQUEST_LOG: requestLog ? 'on' : 'off',
    },
    // The server stops when its stdin closes, so it never outlives this process.
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string) => void> = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const nextLine = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = nextLine();
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`))),
  );
  const url = (JSON.parse(await Promise.race([ready, exited])) as { ready: string }).ready;
  return {
    url,
    /** CPU time and memory, read from the lines the server prints when signalled. */
    async stats(): Promise<Stats> {
      for (;;) {
        const line = nextLine();
        child.kill('SIGUSR2');
        const parsed = JSON.parse(await Promise.race([line, exited])) as Partial<Stats>;
        // Log lines of the server share its stdout; only the answer has cpuMicros.
        if (typeof parsed.cpuMicros === 'number' && typeof parsed.rss === 'number') {
          return { cpuMicros: parsed.cpuMicros, rss: parsed.rss };
        }
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        peakMemory.record(child.pid);
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

async function withServer<T>(
  seeded: Seeded,
  kind: 'app' | 'bare',
  requestLog: boolean,
  use: (server: Server) => Promise<T>,
): Promise<T> {
  const server = await startServer(seeded, kind, requestLog);
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

interface Run {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  p99: number;
}

async function cannon(
  server: Server,
  path: string,
  headers: Record<string, string>,
  seconds: number,
  connections = 50,
): Promise<Run> {
  const options = { url: `${server.url}${path}`, connections, headers };
  // Quick runs only have to show the path works end to end; full runs settle for longer.
  await autocannon({ ...options, duration: seconds < 5 ? 1 : 2 });
  const before = await server.stats();
  const result = await autocannon({ ...options, duration: seconds });
  const after = await server.stats();
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${path}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
  const requests = result.requests.average * seconds;
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / requests,
    p99: result.latency.p99,
  };
}

/**
 * The hot path, three ways, alternating within each round since this machine's speed
 * drifts over minutes: the public route of the same app server is the baseline the
 * target names; the bare Fastify server is for reference.
 */
async function benchRead(seeded: Seeded, options: BenchOptions): Promise<Figure[]> {
  const seconds = options.quick ? 2 : 8;
  // The request log's own cost is request-log.bench's figure, and the bare server is for
  // reference: quick runs measure neither.
  const withUnlogged = !options.quick;
  const withBare = !options.quick;
  const rounds = options.quick ? 1 : 3;
  const runs = { token: [] as Run[], open: [] as Run[], unlogged: [] as Run[], bare: [] as Run[] };
  const auth = { authorization: `Bearer ${seeded.token}` };
  const byId = `/companies/${seeded.companyId}`;
  for (let round = 0; round < rounds; round += 1) {
    progress(`GET /companies/{id}, round ${round + 1} of ${rounds}`);
    // Started together, measured one after the other: only the load is sequential.
    const [app, bare] = await Promise.all([
      startServer(seeded, 'app', true),
      withBare ? startServer(seeded, 'bare', false) : undefined,
    ]);
    try {
      runs.open.push(await cannon(app, `/bench${byId}`, {}, seconds));
      runs.token.push(await cannon(app, byId, auth, seconds));
      if (bare !== undefined) runs.bare.push(await cannon(bare, `/bench${byId}`, {}, seconds));
    } finally {
      await Promise.all([app.stop(), bare?.stop()]);
    }
    if (withUnlogged) {
      await withServer(seeded, 'app', false, async (unlogged) => {
        runs.unlogged.push(await cannon(unlogged, byId, auth, seconds));
      });
    }
  }
  const rate = (list: Run[]) => median(list.map((run) => run.requestsPerSecond));
  const cpu = (list: Run[]) => median(list.map((run) => run.cpuMicrosPerRequest));
  const ratio = rate(runs.token) / rate(runs.open);
  return [
    {
      figure: 'GET /companies/{id}: token, permissions, request log',
      value: rate(runs.token),
      unit: 'req/s',
      baseline: rate(runs.open),
      ratio,
      target: 'ratio ≥ 0.90',
      met: ratio >= 0.9,
    },
    ...(withBare
      ? [
          {
            figure: '  the same, against a bare Fastify server',
            value: rate(runs.token),
            unit: 'req/s',
            baseline: rate(runs.bare),
            ratio: rate(runs.token) / rate(runs.bare),
          },
        ]
      : []),
    ...(withUnlogged
      ? [
          {
            figure: '  the same with the request log off',
            value: rate(runs.unlogged),
            unit: 'req/s',
            baseline: rate(runs.open),
            ratio: rate(runs.unlogged) / rate(runs.open),
          },
        ]
      : []),
    {
      figure: '  server CPU per request (baseline: public route)',
      value: cpu(runs.token),
      unit: 'µs',
      baseline: cpu(runs.open),
      ratio: cpu(runs.token) / cpu(runs.open),
    },
    ...(withUnlogged
      ? [
          {
            figure: '  server CPU per request, request log off',
            value: cpu(runs.unlogged),
            unit: 'µs',
          },
        ]
      : []),
    ...(withBare
      ? [{ figure: '  server CPU per request, bare Fastify', value: cpu(runs.bare), unit: 'µs' }]
      : []),
    {
      figure: '  p99 latency with a token, 50 connections',
      value: median(runs.token.map((run) => run.p99)),
      unit: 'ms',
    },
  ];
}

/**
 * Half of `size` seeded companies changed (by externalId), half new ones. `batch` numbers
 * every batch a server sees, so that no two batches create the same externalId.
 */
function bulkItems(batch: number, size = BULK): unknown[] {
  const items: unknown[] = [];
  for (let i = 0; i < size / 2; i += 1) {
    const index = (batch * (BULK / 2) + i) % COMPANIES;
    items.push({
      externalId: `co-${index}`,
      name: `Company ${index}`,
      phase: `Round ${batch}`,
      custom: { Seats: batch },
    });
  }
  for (let i = 0; i < size / 2; i += 1) {
    items.push({
      name: `New ${batch}-${i}`,
      externalId: `new-${batch}-${i}`,
      domains: [`new${batch}-${i}.example`],
      custom: { Seats: i },
    });
  }
  return items;
}

async function put(url: string, token: string, body: string) {
  const response = await fetch(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, report: (await response.json()) as Record<string, unknown> };
}

/** Warm-up rounds let the JIT settle, then the measured ones. */
async function bulkRounds(
  server: Server,
  seeded: Seeded,
  label: string,
  rounds: { warm: number; measured: number },
  rates: number[],
  cpus: number[],
): Promise<void> {
  const total = rounds.warm + rounds.measured;
  for (let round = 0; round < total; round += 1) {
    progress(`${label}: bulk upsert, round ${round + 1} of ${total}`);
    const body = JSON.stringify(bulkItems(round));
    const before = await server.stats();
    const started = performance.now();
    const { status, report } = await put(`${server.url}/companies`, seeded.token, body);
    const elapsed = performance.now() - started;
    const after = await server.stats();
    if (status !== 200 || report.created !== BULK / 2 || report.updated !== BULK / 2) {
      throw new Error(`bulk upsert answered ${status}: ${JSON.stringify(report).slice(0, 300)}`);
    }
    if (round < rounds.warm) continue;
    rates.push(BULK / (elapsed / 1000));
    cpus.push((after.cpuMicros - before.cpuMicros) / BULK);
  }
}

async function benchBulk(seeded: Seeded, label: string, options: BenchOptions) {
  const rounds = options.quick ? { warm: 2, measured: 3 } : { warm: 2, measured: 7 };
  const sqlite = label === 'SQLite';
  // 50,000 items take PostgreSQL half a minute: quick runs stop at 5,000 there.
  const sizeList = options.quick && !sqlite ? [500, 5_000] : [500, 5_000, 50_000];
  const rates: number[] = [];
  const cpus: number[] = [];
  const sizes: SizeRun[] = [];
  await withServer(seeded, 'app', true, async (server) => {
    await bulkRounds(server, seeded, label, rounds, rates, cpus);
    const firstBatch = rounds.warm + rounds.measured;
    sizes.push(...(await bulkSizes(server, seeded, label, sizeList, firstBatch)));
  });
  const rate = median(rates);
  const rateOf = (size: number) => sizes.find((run) => run.size === size)?.rate ?? 0;
  const growth = rateOf(5_000) / rateOf(50_000);
  return [
    {
      figure: `${label}: bulk upsert of 5,000 companies (half new, half matched)`,
      value: rate,
      unit: 'items/s',
      ...(sqlite ? { target: '≥ 20,000', met: rate >= 20_000 } : {}),
    },
    { figure: `${label}:   server CPU per item`, value: median(cpus), unit: 'µs' },
    {
      figure: `${label}:   best of ${rounds.measured} rounds`,
      value: Math.max(...rates),
      unit: 'items/s',
    },
    ...sizes.map((run) => ({
      figure: `${label}:   ${run.size.toLocaleString('en-US')} items in batches of 5,000`,
      value: run.rate,
      unit: 'items/s',
    })),
    ...(sizeList.includes(50_000)
      ? [
          {
            figure: `${label}:   time per item, 50,000 against 5,000`,
            value: growth,
            unit: 'x',
            target: '≤ 1.25 (linear)',
            met: growth <= 1.25,
          },
        ]
      : []),
  ] satisfies Figure[];
}

interface SizeRun {
  size: number;
  rate: number;
}

/** Each size of items, sent one batch of at most 5,000 after the other. */
async function bulkSizes(
  server: Server,
  seeded: Seeded,
  label: string,
  sizeList: number[],
  firstBatch: number,
): Promise<SizeRun[]> {
  const runs: SizeRun[] = [];
  let batch = firstBatch;
  for (const size of sizeList) {
    progress(`${label}: bulk upsert of ${size} items`);
    let elapsed = 0;
    for (let sent = 0; sent < size; sent += BULK) {
      const count = Math.min(BULK, size - sent);
      const body = JSON.stringify(bulkItems(batch, count));
      batch += 1;
      const started = performance.now();
      const { status, report } = await put(`${server.url}/companies`, seeded.token, body);
      elapsed += performance.now() - started;
      if (status !== 200 || report.created !== count / 2) {
        throw new Error(`bulk upsert answered ${status}: ${JSON.stringify(report).slice(0, 300)}`);
      }
    }
    runs.push({ size, rate: size / (elapsed / 1000) });
  }
  return runs;
}

async function benchList(seeded: Seeded, label: string, options: BenchOptions) {
  progress(`${label}: GET /companies?limit=5000`);
  return withServer(seeded, 'app', true, (server) => listFigures(server, seeded, label, options));
}

async function listFigures(server: Server, seeded: Seeded, label: string, options: BenchOptions) {
  const auth = { authorization: `Bearer ${seeded.token}` };
  const samples: number[] = [];
  let bytes = 0;
  const requests = options.quick ? 5 : 20;
  for (let i = 0; i <= requests; i += 1) {
    const offset = (i * 5_000) % COMPANIES;
    const started = performance.now();
    const response = await fetch(`${server.url}/companies?limit=5000&offset=${offset}`, {
      headers: auth,
    });
    const text = await response.text();
    const elapsed = performance.now() - started;
    if (response.status !== 200) throw new Error(`list answered ${response.status}`);
    if (i === 0) continue;
    samples.push(elapsed);
    bytes = text.length;
  }
  const idle = await server.stats();
  const figures: Figure[] = [
    {
      figure: `${label}: GET /companies?limit=5000 of 100,000, median latency`,
      value: median(samples),
      unit: 'ms',
    },
    { figure: `${label}:   answer size`, value: bytes / 1e6, unit: 'MB' },
    { figure: `${label}:   server RSS after sequential lists`, value: idle.rss / 1e6, unit: 'MB' },
  ];
  // A PostgreSQL page takes about a third of a second, so 10 at once need full-length
  // runs to finish enough of them to count; quick runs measure them on SQLite only.
  if (options.quick && label !== 'SQLite') return figures;

  // Pages of 5,000 take tens of milliseconds each: 10 clients at once keep the server
  // saturated without queueing past the database pool's wait limit.
  const loaded = await cannon(server, '/companies?limit=5000', auth, options.quick ? 3 : 8, 10);
  const busy = await server.stats();
  return [
    ...figures,
    {
      figure: `${label}:   10 connections at once`,
      value: loaded.requestsPerSecond,
      unit: 'req/s',
    },
    { figure: `${label}:   p99 latency, 10 connections`, value: loaded.p99, unit: 'ms' },
    { figure: `${label}:   server RSS after 10 connections`, value: busy.rss / 1e6, unit: 'MB' },
  ] satisfies Figure[];
}

async function postgresUrl(url: string) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: scoped.toString(),
    async drop() {
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/** Figures so far, printed should a later phase fail, so that a long run is not lost. */
const partial: Figure[] = [];

async function phase(run: () => Promise<Figure[]>): Promise<Figure[]> {
  try {
    const figures = await run();
    partial.push(...figures);
    return figures;
  } catch (error) {
    printTable(partial);
    throw error;
  }
}

/** `bulkOnly`: the bulk upserts alone, for profiling them. */
export async function benchRecords(options: BenchOptions, bulkOnly = false): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-'));
  const figures: Figure[] = [];
  try {
    progress('SQLite: seeding 100,000 companies');
    const seeded = await seed(`sqlite:${join(dir, 'records.db')}`);
    if (!bulkOnly) figures.push(...(await phase(() => benchRead(seeded, options))));
    figures.push(...(await phase(() => benchBulk(seeded, 'SQLite', options))));
    if (!bulkOnly) figures.push(...(await phase(() => benchList(seeded, 'SQLite', options))));
    figures.push(...peakMemory.take('SQLite records runs'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  if (options.postgresUrl !== undefined) {
    const postgres = await postgresUrl(options.postgresUrl);
    try {
      progress('PostgreSQL: seeding 100,000 companies');
      const seeded = await seed(postgres.url);
      figures.push(...(await phase(() => benchBulk(seeded, 'PostgreSQL', options))));
      if (!bulkOnly) figures.push(...(await phase(() => benchList(seeded, 'PostgreSQL', options))));
      figures.push(...peakMemory.take('PostgreSQL records runs'));
    } finally {
      await postgres.drop();
    }
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const options = {
    quick: process.argv.includes('--quick'),
    postgresUrl: process.env.BENCH_DATABASE_URL,
  };
  const figures = await benchRecords(options, process.argv.includes('--bulk'));
  printTable(figures);
}
