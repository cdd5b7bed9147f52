// A real App Center server for the analytics benchmark: the app as `serve` builds it, on
// the database in DATABASE_URL (already migrated and seeded), with the analytics rate
// limit raised out of the way.
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
  ANALYTICS_RATE_LIMIT_PER_MINUTE: '100000000',
});
const database = openDatabase(config.database);
const app = await buildApp({ config, database });
const url = await app.listen({ host: config.host, port: 0 });
process.stdout.write(`${JSON.stringify({ ready: url })}\n`);

process.once('SIGTERM', () => {
  void app.close().then(() => database.close());
});
