// Runs a real App Center server in its own process for multi-process tests, and prints
// its URL as one JSON line once it listens.
import { loadEnv, parseConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';

const server = await startServer(parseConfig(loadEnv()));
process.stdout.write(`${JSON.stringify({ ready: server.url })}\n`);
const stop = () => {
  void server.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
