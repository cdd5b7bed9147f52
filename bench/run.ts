// `npm run bench [-- --quick]`: every benchmark, one table, and the figures as JSON in
// bench/results/. BENCH_DATABASE_URL=postgres://... adds the PostgreSQL figures.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchAnalytics } from './analytics.bench.js';
import { benchCluster } from './cluster.bench.js';
import { printTable, type BenchOptions, type Figure } from './lib/figures.js';
import { benchRecords } from './records.bench.js';
import { benchRequestLog } from './request-log.bench.js';
import { benchTokenVerification } from './token-verification.bench.js';

const options: BenchOptions = {
  quick: process.argv.includes('--quick'),
  postgresUrl: process.env.BENCH_DATABASE_URL,
};

const suites: Array<[string, (options: BenchOptions) => Promise<Figure[]>]> = [
  ['token verification', benchTokenVerification],
  ['records', benchRecords],
  ['request log', benchRequestLog],
  ['analytics', benchAnalytics],
  ['cluster', benchCluster],
];

const started = Date.now();
const figures: Figure[] = [];
const suiteSeconds: Record<string, number> = {};
for (const [name, run] of suites) {
  process.stderr.write(`bench: ${name}...\n`);
  const suiteStarted = performance.now();
  figures.push(...(await run(options)));
  const seconds = Math.round((performance.now() - suiteStarted) / 100) / 10;
  suiteSeconds[name] = seconds;
  process.stderr.write(`bench: ${name} took ${seconds} s\n`);
}

printTable(figures);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const result = {
  date: new Date().toISOString(),
  quick: options.quick,
  postgres: options.postgresUrl !== undefined,
  machine: { cores: cpus().length, node: process.version },
  seconds: Math.round((Date.now() - started) / 1000),
  suiteSeconds,
  figures,
};
writeFileSync(new URL('./results/latest.json', import.meta.url), JSON.stringify(result, null, 2));
process.stderr.write(`bench: done in ${result.seconds} s; bench/results/latest.json written\n`);
