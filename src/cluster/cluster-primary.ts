import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/config.js';
import { prepareDatabase } from '../server.js';
import { answerRateLimits } from './ipc-rate-limit-store.js';
import { WORKERS_ENV } from './worker-share.js';

const RESTART_DELAY_MS = 1_000;
const SHUTDOWN_GRACE_MS = 10_000;

/**
 * Runs N workers sharing the port. The primary migrates and seeds once before forking,
 * owns the rate-limit windows and leases their allowance to workers in blocks, restarts a
 * worker that crashes, and on SIGTERM or SIGINT lets every worker finish its requests and
 * flush before exit.
 */
export async function runPrimary(config: Config, workers: number): Promise<void> {
  await prepareDatabase(config);
  const answer = answerRateLimits(workers);
  let stopping = false;
  let announced = false;

  const fork = (): Worker => {
    const worker = cluster.fork({ APP_CENTER_WORKER: '1', [WORKERS_ENV]: String(workers) });
    worker.on('message', (message: unknown) =>
      answer(message, (reply) => {
        if (worker.isConnected()) worker.send(reply);
      }),
    );
    return worker;
  };

  cluster.on('listening', (_worker, address) => {
    if (announced) return;
    announced = true;
    const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
    const url = config.publicUrl ?? `http://${host}:${address.port}`;
    process.stdout.write(`App Center listening at ${url} (${workers} workers)\n`);
  });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); restarting\n`);
    setTimeout(fork, RESTART_DELAY_MS).unref();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = alive.length;
    if (left === 0) process.exit(0);
    const deadline = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS + 1_000);
    for (const worker of alive) {
      worker.once('exit', () => {
        left -= 1;
        if (left > 0) return;
        clearTimeout(deadline);
        process.exit(0);
      });
      worker.process.kill(signal);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  for (let i = 0; i < workers; i += 1) fork();
}
