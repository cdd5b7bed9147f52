import { performance } from 'node:perf_hooks';
import { parseConfig } from '../src/config/config.js';
import { openDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { PrivateAppService } from '../src/private-apps/private-app.service.js';
import { LocalRevocationBus } from '../src/tokens/revocation-bus.js';
import { CachingTokenAuthenticator } from '../src/tokens/token-authenticator.js';
import { TokenService } from '../src/tokens/token.service.js';
import { initWorkspace, systemPrincipal } from '../src/workspaces/workspace.service.js';
import { median, printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Median microseconds per call of `fn`, over `rounds` rounds of `batch` calls. */
async function microseconds(fn: () => Promise<unknown>, rounds: number, batch: number) {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    for (let i = 0; i < batch; i += 1) await fn();
    samples.push(((performance.now() - started) * 1000) / batch);
  }
  return median(samples);
}

/** Token verification in process: a cache hit, a miss that reads SQLite, a bad checksum. */
export async function benchTokenVerification(options: BenchOptions): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-bench-'));
  const database = openDatabase(
    parseConfig({ DATABASE_URL: `sqlite:${join(dir, 'b.db')}` }).database,
  );
  await migrateToLatest(database);
  const { workspace } = await initWorkspace(database.db, {
    workspaceName: 'Bench',
    adminEmail: 'bench@example.com',
    adminPassword: 'bench password 123',
    passwordCost: { N: 1024, r: 8, p: 1 },
  });
  const bus = new LocalRevocationBus();
  const principal = systemPrincipal(workspace.id);
  const app = await new PrivateAppService(database.db, bus).create(principal, { name: 'Bench' });
  const tokens = new TokenService(database.db, bus);
  // Many tokens, so the miss path reads a realistic index rather than a one-row table.
  const issued: string[] = [];
  for (let i = 0; i < (options.quick ? 200 : 2000); i += 1) {
    issued.push((await tokens.create(principal, app.id, {})).token);
  }
  const token = issued[0] ?? '';
  const badChecksum = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

  const cached = new CachingTokenAuthenticator(database, { bus });
  await cached.verify(token);
  const uncached = new CachingTokenAuthenticator(database, { bus, cacheTtlMs: 0 });
  const rounds = options.quick ? 20 : 60;

  const hit = await microseconds(() => cached.verify(token), rounds, 2000);
  let next = 0;
  const miss = await microseconds(
    () => uncached.verify(issued[(next += 1) % issued.length] ?? token),
    rounds,
    500,
  );
  const bad = await microseconds(
    () => cached.verify(badChecksum).catch(() => undefined),
    rounds,
    2000,
  );
  await database.close();

  return [
    { figure: 'token verify, cache hit', value: hit, unit: 'µs', target: '≤ 5', met: hit <= 5 },
    {
      figure: 'token verify, miss (SQLite)',
      value: miss,
      unit: 'µs',
      target: '< 200',
      met: miss < 200,
    },
    { figure: 'token verify, bad checksum', value: bad, unit: 'µs', target: '< 2', met: bad < 2 },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchTokenVerification({
    quick: process.argv.includes('--quick'),
    postgresUrl: process.env.BENCH_DATABASE_URL,
  });
  printTable(figures);
}
