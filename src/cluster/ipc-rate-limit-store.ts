import { createRequire } from 'node:module';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';

/** A worker asking the primary for a block of a key's allowance in the current window. */
export interface LeaseRequest {
  kind: 'rate-limit-lease';
  id: number;
  key: string;
  timeWindow: number;
  max: number;
}

/**
 * The block granted (0 when the window's allowance is spent), how much of the window's
 * allowance is handed out across all workers including this block, and when the window ends.
 */
export interface LeaseAnswer {
  kind: 'rate-limit-lease';
  id: number;
  granted: number;
  used: number;
  resetAt: number;
}

type Callback = Parameters<FastifyRateLimitStore['incr']>[1];
type LocalStoreConstructor = new (
  continueExceeding?: boolean,
  exponentialBackoff?: boolean,
) => FastifyRateLimitStore;

const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreConstructor;

/** Past this many keys, ended windows and leases are dropped before adding another. */
const SWEEP_AT = 10_000;

function isLeaseAnswer(message: unknown): message is LeaseAnswer {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { kind?: unknown }).kind === 'rate-limit-lease'
  );
}

function sweep<T extends { resetAt: number }>(map: Map<string, T>, now: number): void {
  if (map.size < SWEEP_AT) return;
  for (const [key, entry] of map) if (entry.resetAt <= now) map.delete(key);
}

interface Lease {
  /** Requests this worker may still accept in the window without asking. */
  left: number;
  /** The window's allowance handed out across all workers when this block was granted. */
  used: number;
  resetAt: number;
  /** The primary has nothing left to hand out in this window. */
  spent: boolean;
}

interface Waiter {
  callback: Callback;
  timeWindow: number;
  max: number;
}

/**
 * Worker side: the primary owns each key's window and hands out blocks of its allowance, so
 * N workers sharing a port enforce one exact limit between them while a request costs a
 * round trip to the primary only when this worker's block is spent or its window ended.
 * A worker that has no primary to ask (or whose primary is gone) counts locally rather
 * than blocking requests.
 */
export function ipcRateLimitStore() {
  const leases = new Map<string, Lease>();
  const waiting = new Map<string, Waiter[]>();
  const asking = new Map<number, string>();
  const local = new LocalStore();
  let nextId = 0;

  const accept = (lease: Lease, callback: Callback, now: number) => {
    lease.left -= 1;
    // Every other worker is assumed to have spent its blocks: remaining never overstates.
    callback(null, { current: lease.used - lease.left, ttl: lease.resetAt - now });
  };

  const refuse = (lease: Lease, waiter: Waiter, now: number) =>
    waiter.callback(null, { current: waiter.max + 1, ttl: lease.resetAt - now });

  const ask = (key: string, waiter: Waiter) => {
    if (process.send === undefined || !process.connected) {
      countLocally(key);
      return;
    }
    nextId += 1;
    asking.set(nextId, key);
    const request: LeaseRequest = {
      kind: 'rate-limit-lease',
      id: nextId,
      key,
      timeWindow: waiter.timeWindow,
      max: waiter.max,
    };
    process.send(request);
  };

  const countLocally = (key: string) => {
    const queue = waiting.get(key) ?? [];
    waiting.delete(key);
    for (const { callback, timeWindow, max } of queue) local.incr(key, callback, timeWindow, max);
  };

  process.on('message', (message: unknown) => {
    if (!isLeaseAnswer(message)) return;
    const key = asking.get(message.id);
    if (key === undefined) return;
    asking.delete(message.id);

    const now = Date.now();
    sweep(leases, now);
    const lease: Lease = {
      left: message.granted,
      used: message.used,
      resetAt: message.resetAt,
      spent: message.granted === 0,
    };
    leases.set(key, lease);
    const queue = waiting.get(key) ?? [];
    const expired = lease.resetAt <= now;
    while (!expired && lease.left > 0 && queue.length > 0) {
      const waiter = queue.shift();
      if (waiter !== undefined) accept(lease, waiter.callback, now);
    }
    if (queue.length === 0) {
      waiting.delete(key);
      return;
    }
    if (lease.spent && !expired) {
      waiting.delete(key);
      for (const waiter of queue) refuse(lease, waiter, now);
      return;
    }
    const first = queue[0];
    if (first !== undefined) ask(key, first);
  });

  // Answers from a primary that is gone never come: count what was waiting on them here.
  process.on('disconnect', () => {
    asking.clear();
    for (const key of [...waiting.keys()]) countLocally(key);
  });

  return class IpcRateLimitStore implements FastifyRateLimitStore {
    constructor(
      _options?: unknown,
      private readonly prefix = '',
    ) {}

    incr: FastifyRateLimitStore['incr'] = (key, callback, timeWindow, max) => {
      const fullKey = this.prefix + key;
      if (process.send === undefined || !process.connected) {
        local.incr(fullKey, callback, timeWindow, max);
        return;
      }

      const now = Date.now();
      const queue = waiting.get(fullKey);
      const lease = leases.get(fullKey);
      if (queue === undefined && lease !== undefined && lease.resetAt > now) {
        if (lease.left > 0) {
          accept(lease, callback, now);
          return;
        }
        // Blocks are never given back, so a spent window stays spent until it ends.
        if (lease.spent || lease.used >= max) {
          refuse(lease, { callback, timeWindow, max }, now);
          return;
        }
      }

      const waiter = { callback, timeWindow, max };
      if (queue !== undefined) {
        queue.push(waiter);
        return;
      }
      waiting.set(fullKey, [waiter]);
      ask(fullKey, waiter);
    };

    child: FastifyRateLimitStore['child'] = (routeOptions) =>
      new IpcRateLimitStore(undefined, `${this.prefix}${routeOptions.method}${routeOptions.url}-`);
  };
}

/**
 * How much of what is left in a window one ask may take: a share small enough that the
 * other workers still find allowance when they ask, shrinking to 1 near the limit. A block
 * a worker does not spend is lost to the window, so the share stays well under 1/N.
 */
export function leaseSize(remaining: number, workers: number): number {
  if (remaining <= 0) return 0;
  return Math.min(remaining, Math.max(1, Math.floor(remaining / (4 * workers))));
}

interface Window {
  used: number;
  resetAt: number;
}

/** Primary side: one window per key for every worker; never more than `max` handed out. */
export function answerRateLimits(
  workers: number,
): (message: unknown, reply: (answer: LeaseAnswer) => void) => void {
  const windows = new Map<string, Window>();
  return (message, reply) => {
    if (typeof message !== 'object' || message === null) return;
    const request = message as Partial<LeaseRequest>;
    if (request.kind !== 'rate-limit-lease' || typeof request.key !== 'string') return;
    const { id = 0, key } = request;
    const timeWindow = Number.isFinite(request.timeWindow) ? Number(request.timeWindow) : 1_000;
    const max = Number.isFinite(request.max) ? Number(request.max) : 1;

    const now = Date.now();
    let window = windows.get(key);
    if (window === undefined || window.resetAt <= now) {
      sweep(windows, now);
      window = { used: 0, resetAt: now + timeWindow };
      windows.set(key, window);
    }
    const granted = leaseSize(max - window.used, workers);
    window.used += granted;
    reply({ kind: 'rate-limit-lease', id, granted, used: window.used, resetAt: window.resetAt });
  };
}
