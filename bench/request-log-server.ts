// A real App Center server for the request-log benchmark: the app as `serve` builds it,
// with the app rate limits raised out of the way and request logging on or off.
import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config/config.js';
import { openDatabase } from '../src/db/database.js';

const config = parseConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  LOG_LEVEL: 'warn',
  // Capacity is what is measured: a saturated server must not turn load away.
  OVERLOAD_EVENT_LOOP_DELAY_MS: '0',
  HOST: '127.0.0.1',
  PORT: '0',
});
const database = openDatabase(config.database);
const app = await buildApp({
  config,
  database,
  appRateLimit: { defaultPerSecond: 1_000_000, maxInFlight: 100_000 },
  requestLog: { enabled: process.env.REQUEST_LOG !== 'off' },
});
const url = await app.listen({ host: config.host, port: 0 });
process.stdout.write(`${JSON.stringify({ ready: url })}\n`);

// The parent asks for this process's CPU time around each measured run.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuMicros: user + system })}\n`);
});

process.once('SIGTERM', () => {
  void app.close().then(() => database.close());
});
