// A real App Center server for the records benchmark, in one of two shapes:
// - BENCH_SERVER=app: the app as `serve` builds it (token auth, permissions, request log),
//   app rate limits raised out of the way (BENCH_REQUEST_LOG=off turns the request log
//   off), plus `GET /bench/companies/:id`: the same read
//   with the same statement, on a public route, so neither authentication nor the request
//   log touch it;
// - BENCH_SERVER=bare: a stand-alone Fastify with nothing but that read.
// The workspace whose company the bare routes read is in BENCH_WORKSPACE.
import Fastify from 'fastify';
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { openDatabase } from '../src/db/database.js';
import { openRecordStorage } from '../src/records/record.repository.js';

const config = parseConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  LOG_LEVEL: 'warn',
  // Capacity is what is measured: a saturated server must not turn load away.
  OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  HOST: '127.0.0.1',
  PORT: '0',
});
const workspaceId = process.env.BENCH_WORKSPACE ?? '';
const database = openDatabase(config.database);
const storage = openRecordStorage(database);
const JSON_TYPE = 'application/json; charset=utf-8';

const app =
  process.env.BENCH_SERVER === 'bare'
    ? Fastify({ logger: false })
    : await buildApp({
        config,
        database,
        appRateLimit: { defaultPerSecond: 1_000_000, maxInFlight: 100_000 },
        requestLog: { enabled: process.env.BENCH_REQUEST_LOG !== 'off' },
      });

app.get<{ Params: { id: string } }>(
  '/bench/companies/:id',
  { config: { auth: 'public', operation: 'bench.company.get' } },
  async (request, reply) => {
    const doc = await storage.docById(workspaceId, 'Company', request.params.id);
    if (doc === undefined) return reply.code(404).send({ error: 'not_found' });
    return reply.header('content-type', JSON_TYPE).send(doc);
  },
);

// The parent asks for this process's CPU time and memory around each measured run; the
// handler is in place before the parent learns the server is ready.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  const { rss, heapUsed } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ cpuMicros: user + system, rss, heapUsed })}\n`);
});

const url = await app.listen({ host: config.host, port: 0 });
process.stdout.write(`${JSON.stringify({ ready: url })}\n`);

const stop = () => {
  // Letting go of stdin leaves nothing to keep the process alive once both are closed.
  process.stdin.destroy();
  void app.close().then(() => database.close());
};
process.once('SIGTERM', stop);
// The benchmark holds this process's stdin: when it goes away, so does this server.
process.stdin.once('end', stop);
process.stdin.resume();
