import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';
import { parseDatabaseUrl } from '../src/config/config.js';
import { openDatabase, type Database } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { PrivateAppService } from '../src/private-apps/private-app.service.js';
import { listLogs, summarize } from '../src/request-log/request-log.repository.js';
import { createRequestLogStore } from '../src/request-log/request-log.store.js';
import type { RequestLogEntry } from '../src/request-log/request-log.writer.js';
import { LocalRevocationBus } from '../src/tokens/revocation-bus.js';
import { TokenService } from '../src/tokens/token.service.js';
import { initWorkspace, systemPrincipal } from '../src/workspaces/workspace.service.js';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { treePeakRssBytes } from './lib/process-usage.js';

interface CannonResult {
  requests: { average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const APPS = 20;
const WORKSPACE = 'bench-workspace';
const DAY_MS = 86_400_000;
const SERVER = fileURLToPath(new URL('./request-log-server.ts', import.meta.url));

const appId = (index: number) => `bench-app-${String(index).padStart(2, '0')}`;

/** A request-shaped row: mostly 200s, some 4xx and 5xx, durations of a few ms. */
function syntheticRow(index: number, total: number, now: number): RequestLogEntry {
  const roll = index % 100;
  const status = roll < 90 ? 200 : roll < 97 ? 404 : 500;
  return {
    workspaceId: WORKSPACE,
    appId: appId(index % APPS),
    tokenId: `bench-token-${index % APPS}`,
    tokenHint: 'apc_…abcd',
    // Spread evenly over the last 24 hours: every row falls in the summary's range.
    at: now - DAY_MS + Math.floor((index * DAY_MS) / total),
    requestId: `req-${index}`,
    method: roll < 80 ? 'GET' : 'PUT',
    route: '/companies/:id',
    path: `/companies/${(index * 7919) % 100_000}`,
    status,
    durationMs: 1 + ((index * 37) % 400) / 10,
    ip: '10.0.0.1',
    userAgent: 'bench',
    model: 'Company',
    operation: roll < 80 ? 'record.company.get' : 'record.company.update',
    action: roll < 80 ? 'view' : 'update',
    created: null,
    updated: null,
    errors: null,
    ignoredFields: null,
    errorCode: status === 200 ? null : status === 404 ? 'not_found' : 'internal',
    errorMessage: null,
    missingPermission: null,
    accepted: true,
  };
}

async function seedSqlite(database: Database, total: number, now: number): Promise<number> {
  const store = createRequestLogStore(database);
  const chunk = 500;
  const started = performance.now();
  for (let start = 0; start < total; start += chunk) {
    const rows = [];
    for (let i = start; i < Math.min(total, start + chunk); i += 1) {
      rows.push(syntheticRow(i, total, now));
    }
    await store.write(rows, []);
  }
  const seconds = (performance.now() - started) / 1000;
  database.sqlite?.exec('analyze');
  return total / seconds;
}

/** PostgreSQL builds the rows itself: a million parameters would only measure the wire. */
async function seedPostgres(database: Database, total: number, now: number): Promise<number> {
  const started = performance.now();
  await sql`
    insert into request_logs (workspace_id, app_id, token_id, token_hint, at, request_id,
      method, route, path, status, duration_ms, ip, user_agent, model, operation, action)
    select ${WORKSPACE}, 'bench-app-' || lpad((i % ${APPS})::text, 2, '0'),
      'bench-token-' || (i % ${APPS}), 'apc_…abcd',
      ${now - DAY_MS}::bigint + (i::bigint * ${DAY_MS}) / ${total}, 'req-' || i,
      case when i % 100 < 80 then 'GET' else 'PUT' end, '/companies/:id',
      '/companies/' || (i * 7919) % 100000,
      case when i % 100 < 90 then 200 when i % 100 < 97 then 404 else 500 end,
      1 + ((i * 37) % 400) / 10.0, '10.0.0.1', 'bench', 'Company',
      case when i % 100 < 80 then 'record.company.get' else 'record.company.update' end,
      case when i % 100 < 80 then 'view' else 'update' end
    from generate_series(0::bigint, ${total - 1}) as i`.execute(database.db);
  const seconds = (performance.now() - started) / 1000;
  await sql`vacuum analyze request_logs`.execute(database.db);
  return total / seconds;
}

async function timeMs(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/** Seeds 1,000,000 rows over 24 hours across 20 apps, then times the Logs tab's queries. */
async function benchQueries(
  label: string,
  database: Database,
  total: number,
  seeded: number,
  seedMethod: string,
): Promise<Figure[]> {
  const now = Date.now();
  let next = 0;
  const scope = () => ({ workspaceId: WORKSPACE, appId: appId((next += 7) % APPS) });
  const newest = await timeMs(() => listLogs(database.db, scope(), {}, { limit: 51 }), 50);
  // A page deep in the history: the cursor of the 10,000th newest row of one app.
  const deep = { workspaceId: WORKSPACE, appId: appId(3) };
  const skipped = await listLogs(database.db, deep, {}, { limit: 10_000 });
  const last = skipped[skipped.length - 1];
  const before = last === undefined ? undefined : { at: Date.parse(last.at), seq: last.seq };
  const paged = await timeMs(
    () => listLogs(database.db, deep, {}, { limit: 51, ...(before ? { before } : {}) }),
    50,
  );
  const errors = await timeMs(
    () => listLogs(database.db, scope(), { status: { min: 500, max: 599 } }, { limit: 51 }),
    20,
  );
  const from = now - DAY_MS;
  const bucketMs = 300_000;
  const summary = await timeMs(
    () =>
      summarize(database, scope(), {
        from,
        to: now,
        start: Math.floor(from / bucketMs) * bucketMs,
        bucketMs,
      }),
    10,
  );
  const rows = total.toLocaleString('en-US');
  return [
    { figure: `${label}: seeding ${rows} rows, ${seedMethod}`, value: seeded, unit: 'rows/s' },
    {
      figure: `${label}: newest 50 of one app`,
      value: newest,
      unit: 'ms',
      target: '< 20',
      met: newest < 20,
    },
    { figure: `${label}: 50 rows after a cursor 10,000 deep`, value: paged, unit: 'ms' },
    { figure: `${label}: newest 50 5xx of one app`, value: errors, unit: 'ms' },
    {
      figure: `${label}: 24 h summary, 5 min buckets`,
      value: summary,
      unit: 'ms',
      target: '< 300',
      met: summary < 300,
    },
  ];
}

async function postgresDatabase(url: string) {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const database = openDatabase(parseDatabaseUrl(scoped.toString()));
  return {
    database,
    async drop() {
      await database.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    },
  };
}

/** Starts the benchmark server on the database file with logging on or off. */
async function startServer(databaseUrl: string, logging: boolean) {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, DATABASE_URL: databaseUrl, REQUEST_LOG: logging ? 'on' : 'off' },
    stdio: ['ignore', 'pipe', 'inherit'],
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
    logging,
    async cpuMicros(): Promise<number> {
      const line = nextLine();
      child.kill('SIGUSR2');
      return (JSON.parse(await line) as { cpuMicros: number }).cpuMicros;
    },
    /** The server's peak RSS so far, in bytes (from /proc). */
    peakRss: () => treePeakRssBytes(child.pid ?? 0),
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface Run {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
}

type BenchServer = Awaited<ReturnType<typeof startServer>>;

async function measure(
  server: BenchServer,
  request: { path: string; token: string },
  seconds: number,
): Promise<Run> {
  const options = {
    url: `${server.url}${request.path}`,
    connections: 50,
    headers: { authorization: `Bearer ${request.token}` },
  };
  const before = await server.cpuMicros();
  const result = await autocannon({ ...options, duration: seconds });
  const cpu = (await server.cpuMicros()) - before;
  if (result.non2xx > 0 || result.errors > 0) {
    const variant = server.logging ? 'on' : 'off';
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors with logging ${variant}`);
  }
  const requests = result.requests.average * seconds;
  return { requestsPerSecond: result.requests.average, cpuMicrosPerRequest: cpu / requests };
}

/** A workspace, a private app that may read companies, and its token. */
async function seedThroughputDatabase(databaseUrl: string) {
  const database = openDatabase(parseDatabaseUrl(databaseUrl));
  await migrateToLatest(database);
  const { workspace } = await initWorkspace(database.db, {
    workspaceName: 'Bench',
    adminEmail: 'bench@example.com',
    adminPassword: 'bench password 123',
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  const bus = new LocalRevocationBus();
  const principal = systemPrincipal(workspace.id);
  const apps = new PrivateAppService(database.db, bus);
  const app = await apps.create(principal, { name: 'Bench' });
  const all = { create: true, view: true, update: true, remove: true, export: true };
  await apps.update(principal, app.id, { permissions: { models: { Company: all }, fields: {} } });
  const { token } = await new TokenService(database.db, bus).create(principal, app.id, {});
  await database.close();
  return token;
}

async function createCompany(server: BenchServer, token: string): Promise<string> {
  const created = await fetch(`${server.url}/companies`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Acme', externalId: 'acme-1' }),
  });
  const company = (await created.json()) as { _id?: string };
  if (company._id === undefined) throw new Error(`could not create a company: ${created.status}`);
  return company._id;
}

/**
 * Throughput over loopback with a token, logging on against off, on the route the target
 * names (GET /companies/{id}) and on /myprofile. Both servers stay up on one database and
 * the variants alternate, since this machine's speed drifts over minutes; server CPU per
 * request is the steadier of the two figures.
 */
async function benchThroughput(options: BenchOptions): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-'));
  const databaseUrl = `sqlite:${join(dir, 'throughput.db')}`;
  const token = await seedThroughputDatabase(databaseUrl);

  const seconds = options.quick ? 2 : 10;
  const rounds = options.quick ? 1 : 3;
  const figures: Figure[] = [];
  const servers = await Promise.all([
    startServer(databaseUrl, false),
    startServer(databaseUrl, true),
  ]);
  try {
    const [off, on] = servers;
    const companyId = await createCompany(off, token);
    // The target names the record read; /myprofile, the cheapest route, shows the most.
    const paths = [`/companies/${companyId}`, ...(options.quick ? [] : ['/myprofile'])];
    for (const path of paths) {
      // Both servers warm up at once: the JIT settles the same either way, in half the time.
      await Promise.all(
        servers.map((server) =>
          autocannon({
            url: `${server.url}${path}`,
            connections: 25,
            duration: options.quick ? 1 : 3,
            headers: { authorization: `Bearer ${token}` },
          }),
        ),
      );
      const runs: Record<'on' | 'off', Run[]> = { on: [], off: [] };
      for (let round = 0; round < rounds; round += 1) {
        const order = round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const);
        for (const variant of order) {
          const server = variant === 'on' ? on : off;
          runs[variant].push(await measure(server, { path, token }, seconds));
        }
      }
      const rate = (variant: 'on' | 'off') =>
        median(runs[variant].map((run) => run.requestsPerSecond));
      const cpu = (variant: 'on' | 'off') =>
        median(runs[variant].map((run) => run.cpuMicrosPerRequest));
      const label = path === '/myprofile' ? 'GET /myprofile' : 'GET /companies/{id}';
      figures.push(
        {
          figure: `${label}, logging on`,
          value: rate('on'),
          unit: 'req/s',
          baseline: rate('off'),
          ratio: rate('on') / rate('off'),
          target: 'ratio ≥ 0.95',
          met: rate('on') / rate('off') >= 0.95,
        },
        {
          figure: `${label}, server CPU per request`,
          value: cpu('on'),
          unit: 'µs',
          baseline: cpu('off'),
          ratio: cpu('on') / cpu('off'),
          target: 'ratio ≤ 1.05',
          met: cpu('on') / cpu('off') <= 1.05,
        },
      );
    }
    const [offPeak, onPeak] = servers.map((server) => server.peakRss());
    if (offPeak !== undefined && onPeak !== undefined) {
      figures.push({
        figure: 'server peak RSS, logging on',
        value: onPeak / 1e6,
        unit: 'MB',
        baseline: offPeak / 1e6,
        ratio: onPeak / offPeak,
      });
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }

  const check = openDatabase(parseDatabaseUrl(databaseUrl));
  const logged = await check.db
    .selectFrom('request_logs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  await check.close();
  figures.push({ figure: 'rows logged during the runs', value: Number(logged.n), unit: 'rows' });
  return figures;
}

export async function benchRequestLog(
  options: BenchOptions,
  parts: { queries: boolean; throughput: boolean } = { queries: true, throughput: true },
): Promise<Figure[]> {
  const total = options.quick ? 100_000 : 1_000_000;
  const figures: Figure[] = [];
  if (!parts.queries) return benchThroughput(options);

  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-'));
  const sqlite = openDatabase(parseDatabaseUrl(`sqlite:${join(dir, 'logs.db')}`));
  await migrateToLatest(sqlite);
  const sqliteRate = await seedSqlite(sqlite, total, Date.now());
  figures.push(...(await benchQueries('SQLite', sqlite, total, sqliteRate, 'log store')));
  await sqlite.close();

  if (options.postgresUrl !== undefined) {
    const postgres = await postgresDatabase(options.postgresUrl);
    try {
      await migrateToLatest(postgres.database);
      const rate = await seedPostgres(postgres.database, total, Date.now());
      figures.push(...(await benchQueries('PostgreSQL', postgres.database, total, rate, 'in SQL')));
    } finally {
      await postgres.drop();
    }
  }

  if (parts.throughput) figures.push(...(await benchThroughput(options)));
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const only = process.argv.find((arg) => arg === '--queries' || arg === '--throughput');
  const figures = await benchRequestLog(
    { quick: process.argv.includes('--quick'), postgresUrl: process.env.BENCH_DATABASE_URL },
    { queries: only !== '--throughput', throughput: only !== '--queries' },
  );
  printTable(figures);
}
