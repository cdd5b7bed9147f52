// Figures that need several server processes:
// - authenticated GET /companies/{id} throughput with 1 and with 2 workers (`serve --workers`);
// - revocation: from a token delete committed on one process until another rejects it
//   (PostgreSQL, when BENCH_DATABASE_URL is set).
//
//   npx tsx bench/cluster.bench.ts [--quick]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';

interface CannonResult {
  requests: { average: number };
  latency: { p99: number };
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
}) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const RUN = fileURLToPath(new URL('../src/cli/run.ts', import.meta.url));
const PASSWORD = 'bench password 1234';

interface Server {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `app-center serve` as a real process and waits for its URL. */
async function serve(databaseUrl: string, workers: number): Promise<Server> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', RUN, 'serve', '--workers', String(workers)],
    {
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
    },
  );
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

/** Logs in as the seeded admin and creates an app able to read companies, and a company. */
async function seed(url: string) {
  const login = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.com', password: PASSWORD }),
  });
  const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
  const { csrfToken } = (await login.json()) as { csrfToken: string };
  const manage = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (response.status === 204 ? {} : await response.json()) as Record<string, never>;
  };
  const all = { create: true, view: true, update: true, remove: true, export: true };
  const app = await manage('POST', '/manage/private-apps', { name: 'Bench' });
  await manage('PATCH', `/manage/private-apps/${app.id}`, {
    permissions: { models: { Company: all } },
    rateLimitPerSecond: 10_000,
  });
  const issued = await manage('POST', `/manage/private-apps/${app.id}/tokens`, {});
  const token = String(issued.token);
  const company = await fetch(`${url}/companies`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'Bench Co' }),
  });
  const { _id } = (await company.json()) as { _id: string };
  return { token, companyId: _id, manage, appId: String(app.id) };
}

async function throughput(workers: number, seconds: number): Promise<CannonResult> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-workers-'));
  const server = await serve(`sqlite:${join(dir, 'bench.db')}`, workers);
  try {
    const { token, companyId } = await seed(server.url);
    const options = {
      url: `${server.url}/companies/${companyId}`,
      connections: 50,
      headers: { authorization: `Bearer ${token}` },
    };
    await autocannon({ ...options, duration: seconds < 5 ? 1 : 2 });
    return await autocannon({ ...options, duration: seconds });
  } finally {
    await server.stop();
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
    const { manage, appId } = await seed(a.url);
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
  const seconds = options.quick ? 3 : 15;
  const one = await throughput(1, seconds);
  const two = await throughput(2, seconds);
  const figures: Figure[] = [
    {
      figure: 'GET /companies/{id}, 1 worker',
      value: one.requests.average,
      unit: 'req/s',
    },
    {
      figure: 'GET /companies/{id}, 2 workers',
      value: two.requests.average,
      unit: 'req/s',
      baseline: one.requests.average,
      ratio: two.requests.average / one.requests.average,
      target: '> 1 (2 cores)',
      met: two.requests.average > one.requests.average,
    },
  ];
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
