// Figures that need several server processes:
// - authenticated GET /companies/{id} throughput with 1 and with 2 workers (`serve --workers`),
//   and the servers' CPU time per request (primary and workers together);
// - revocation: from a token delete committed on one process until another rejects it
//   (PostgreSQL, when BENCH_DATABASE_URL is set).
//
// Servers run from dist/ when it is built (`npm run build` first), else from src/ via tsx.
//
//   npx tsx bench/cluster.bench.ts [--quick]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { treeCpuMicros, treePeakRssBytes } from './lib/process-usage.js';

interface CannonResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  setupClient?: (client: { setHeaders(headers: Record<string, string>): void }) => void;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const BUILT = fileURLToPath(new URL('../dist/cli/run.js', import.meta.url));
const SOURCE = fileURLToPath(new URL('../src/cli/run.ts', import.meta.url));
const ENTRY = existsSync(BUILT) ? [BUILT] : ['--import', 'tsx', SOURCE];
const PASSWORD = 'bench password 1234';
/** Apps the throughput load spreads over, so no app reaches its limit and every read is real. */
const APPS = 4;

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `app-center serve` as a real process and waits for its URL. */
async function serve(databaseUrl: string, workers: number): Promise<Server> {
  const child = spawn(process.execPath, [...ENTRY, 'serve', '--workers', String(workers)], {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
      DATABASE_URL: databaseUrl,
      ADMIN_EMAIL: 'bench@example.com',
      ADMIN_PASSWORD: PASSWORD,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 60_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const found = /^App Center listening at (\S+)/.exec(line)?.[1];
      if (found === undefined) return;
      clearTimeout(timer);
      resolve(found);
    });
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Logs in as the seeded admin and returns a caller of the management API. */
async function manager(url: string) {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  return async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (response.status === 204 ? {} : await response.json()) as Record<string, never>;
  };
}

/** `count` apps able to read companies at their highest limit, their tokens, and a company. */
async function seed(url: string, count: number) {
  const manage = await manager(url);
  const all = { create: true, view: true, update: true, remove: true, export: true };
  const tokens: string[] = [];
  let appId = '';
  for (let i = 0; i < count; i += 1) {
    const app = await manage('POST', '/manage/private-apps', { name: `Bench ${i}` });
    await manage('PATCH', `/manage/private-apps/${app.id}`, {
      permissions: { models: { Company: all } },
      rateLimitPerSecond: 10_000,
    });
    const issued = await manage('POST', `/manage/private-apps/${app.id}/tokens`, {});
    tokens.push(String(issued.token));
    appId = String(app.id);
  }
  const company = await fetch(`${url}/companies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[0] ?? ''}` },
    body: JSON.stringify({ name: 'Bench Co' }),
  });
  const { _id } = (await company.json()) as { _id: string };
  return { tokens, companyId: _id, manage, appId };
}

interface Run {
  requestsPerSecond: number;
  cpuMicrosPerRequest: number | undefined;
  non2xx: number;
}

async function measure(
  server: Server,
  load: { path: string; tokens: string[]; connections: number },
  seconds: number,
  warmUp: boolean,
): Promise<Run> {
  let next = 0;
  const options = {
    url: `${server.url}${load.path}`,
    connections: load.connections,
    // One token per connection: connections cycling through tokens in step would put all
    // of a worker's requests on one app at once, against that app's in-flight share.
    setupClient: (client: { setHeaders(headers: Record<string, string>): void }) => {
      const token = load.tokens[next++ % load.tokens.length] ?? '';
      client.setHeaders({ authorization: `Bearer ${token}` });
    },
  };
  if (warmUp) await autocannon({ ...options, duration: 1 });
  const pid = server.child.pid ?? 0;
  const before = treeCpuMicros(pid);
  const result = await autocannon({ ...options, duration: seconds });
  const after = treeCpuMicros(pid);
  const cpu = before === undefined || after === undefined ? undefined : after - before;
  return {
    requestsPerSecond: result.requests.average,
    cpuMicrosPerRequest: cpu === undefined ? undefined : cpu / Math.max(1, result.requests.total),
    non2xx: result.non2xx + result.errors,
  };
}

/**
 * 1 worker against 2, both servers up on one database for the whole comparison and
 * measured in alternating order, since this machine's speed drifts over minutes.
 */
async function throughput(options: BenchOptions): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-workers-'));
  const databaseUrl = `sqlite:${join(dir, 'bench.db')}`;
  const servers: Server[] = [];
  const seconds = options.quick ? 2 : 10;
  const rounds = options.quick ? 2 : 5;
  try {
    const one = await serve(databaseUrl, 1);
    servers.push(one);
    // Started once the first has migrated the database, while the first is seeded.
    const starting = serve(databaseUrl, 2).then((server) => {
      servers.push(server);
      return server;
    });
    const [two, { tokens, companyId }] = await Promise.all([starting, seed(one.url, APPS)]);
    const load = { path: `/companies/${companyId}`, tokens, connections: 50 };
    const runs: Record<1 | 2, Run[]> = { 1: [], 2: [] };
    for (let round = 0; round < rounds; round += 1) {
      const order = round % 2 === 0 ? ([1, 2] as const) : ([2, 1] as const);
      for (const workers of order) {
        const server = workers === 1 ? one : two;
        runs[workers].push(await measure(server, load, seconds, round === 0));
      }
    }
    const rate = (workers: 1 | 2) => median(runs[workers].map((run) => run.requestsPerSecond));
    const cpu = (workers: 1 | 2) =>
      median(runs[workers].map((run) => run.cpuMicrosPerRequest ?? Number.NaN));
    const refused = runs[1].concat(runs[2]).reduce((sum, run) => sum + run.non2xx, 0);
    const label = `GET /companies/{id}, ${APPS} apps, 50 connections`;
    const figures: Figure[] = [
      { figure: `${label}, 1 worker`, value: rate(1), unit: 'req/s' },
      {
        figure: `${label}, 2 workers`,
        value: rate(2),
        unit: 'req/s',
        baseline: rate(1),
        ratio: rate(2) / rate(1),
        target: '> 1 (2 cores)',
        met: rate(2) > rate(1),
      },
    ];
    if (!Number.isNaN(cpu(1)) && !Number.isNaN(cpu(2))) {
      figures.push({
        figure: '  server CPU per request (all processes), 2 workers against 1',
        value: cpu(2),
        unit: 'µs',
        baseline: cpu(1),
        ratio: cpu(2) / cpu(1),
      });
    }
    figures.push({ figure: '  non-2xx answers in all runs', value: refused, unit: 'answers' });
    const [onePeak, twoPeak] = [one, two].map((server) => treePeakRssBytes(server.child.pid ?? 0));
    if (onePeak !== undefined && twoPeak !== undefined) {
      figures.push({
        figure: '  server peak RSS (primary and workers), 2 workers against 1',
        value: twoPeak / 1e6,
        unit: 'MB',
        baseline: onePeak / 1e6,
        ratio: twoPeak / onePeak,
      });
    }
    return figures;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** Median milliseconds from a delete's response on one process to a 401 on the other. */
async function revocationLatency(postgresUrl: string, rounds: number): Promise<number> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const scoped = new URL(postgresUrl);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const a = await serve(scoped.toString(), 1);
  const b = await serve(scoped.toString(), 1);
  try {
    const { manage, appId } = await seed(a.url, 1);
    const samples: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const issued = await manage('POST', `/manage/private-apps/${appId}/tokens`, {});
      const headers = { authorization: `Bearer ${String(issued.token)}` };
      await fetch(`${b.url}/myprofile`, { headers });
      const info = issued.info as unknown as { id: string };
      await manage('DELETE', `/manage/private-apps/${appId}/tokens/${info.id}`);
      const committed = performance.now();
      while ((await fetch(`${b.url}/myprofile`, { headers })).status !== 401) {
        if (performance.now() - committed > 5_000) throw new Error('revocation never arrived');
      }
      samples.push(performance.now() - committed);
    }
    return median(samples);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
}

export async function benchCluster(options: BenchOptions): Promise<Figure[]> {
  const figures = await throughput(options);
  if (options.postgresUrl !== undefined) {
    const latency = await revocationLatency(options.postgresUrl, options.quick ? 5 : 20);
    figures.push({
      figure: 'revocation across processes (PostgreSQL)',
      value: latency,
      unit: 'ms',
      target: '< 100',
      met: latency < 100,
    });
  }
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printTable(
    await benchCluster({
      quick: process.argv.includes('--quick'),
      postgresUrl: process.env.BENCH_DATABASE_URL,
    }),
  );
}
