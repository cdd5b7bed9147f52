import cluster from 'node:cluster';

/** Set by the primary on each worker it forks: how many workers share the port. */
export const WORKERS_ENV = 'APP_CENTER_WORKERS';

/** How many processes share this one's port: the primary's worker count, or 1. */
export function clusterSize(): number {
  if (!cluster.isWorker) return 1;
  const workers = Number(process.env[WORKERS_ENV]);
  return Number.isInteger(workers) && workers >= 1 ? workers : 1;
}

/**
 * This process's part of a limit that must hold across the cluster: an even share,
 * rounded down so the parts never add up to more than the limit, and at least 1.
 */
export function workerShare(limit: number, workers = clusterSize()): number {
  return Math.max(1, Math.floor(limit / workers));
}
