import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Config } from '../config/config.js';
import { runPrimary } from '../cluster/cluster-primary.js';
import { ipcRateLimitStore } from '../cluster/ipc-rate-limit-store.js';
import { serveUntilSignalled } from '../server.js';
import { parseOptions, UsageError } from './main.js';

/** `serve [--workers N]`: one process per core by default, all sharing the port. */
export async function serveCommand(args: string[], config: Config): Promise<number> {
  const { values } = parseOptions(args, { workers: { type: 'string' } });
  const workers = values.workers === undefined ? availableParallelism() : Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new UsageError('--workers must be an integer from 1 to 64');
  }

  if (cluster.isWorker) {
    await serveUntilSignalled(config, { seed: false, rateLimitStore: ipcRateLimitStore() });
    return 0;
  }
  if (workers === 1) {
    await serveUntilSignalled(config);
    return 0;
  }
  await runPrimary(config, workers);
  return 0;
}
