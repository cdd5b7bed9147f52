// Runs a real App Center server in its own process, exactly as `app-center serve` does, and
// prints its URL as one JSON line once it listens.
import { loadEnv, parseConfig } from '../../src/config/config.js';
import { serveUntilSignalled } from '../../src/server.js';

const server = await serveUntilSignalled(parseConfig(loadEnv()));
process.stdout.write(`${JSON.stringify({ ready: server.url })}\n`);
