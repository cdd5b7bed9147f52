import { createRequire } from 'node:module';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';

/** A rate-limit count asked of the primary process, and its answer. */
export interface RateLimitRequest {
  kind: 'rate-limit';
  id: number;
  key: string;
  timeWindow: number;
  max: number;
}

export interface RateLimitAnswer {
  kind: 'rate-limit';
  id: number;
  current: number;
  ttl: number;
}

type Callback = Parameters<FastifyRateLimitStore['incr']>[1];
type LocalStoreConstructor = new (
  continueExceeding?: boolean,
  exponentialBackoff?: boolean,
) => FastifyRateLimitStore;

const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as LocalStoreConstructor;

function isAnswer(message: unknown): message is RateLimitAnswer {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { kind?: unknown }).kind === 'rate-limit'
  );
}

/**
 * Worker side: counts live in the primary, so N workers sharing a port enforce one limit
 * between them, as Redis does across machines. A worker that has no primary to ask (or
 * whose primary is gone) counts locally rather than blocking requests.
 */
export function ipcRateLimitStore() {
  const pending = new Map<number, Callback>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (!isAnswer(message)) return;
    const callback = pending.get(message.id);
    pending.delete(message.id);
    callback?.(null, { current: message.current, ttl: message.ttl });
  });

  return class IpcRateLimitStore implements FastifyRateLimitStore {
    private readonly local = new LocalStore();

    constructor(
      _options?: unknown,
      private readonly prefix = '',
    ) {}

    incr: FastifyRateLimitStore['incr'] = (key, callback, timeWindow, max) => {
      if (process.send === undefined || !process.connected) {
        this.local.incr(key, callback, timeWindow, max);
        return;
      }
      nextId += 1;
      pending.set(nextId, callback);
      const request: RateLimitRequest = {
        kind: 'rate-limit',
        id: nextId,
        key: this.prefix + key,
        timeWindow,
        max,
      };
      process.send(request);
    };

    child: FastifyRateLimitStore['child'] = (routeOptions) =>
      new IpcRateLimitStore(undefined, `${this.prefix}${routeOptions.method}${routeOptions.url}-`);
  };
}

/** Primary side: one local store answers every worker. */
export function answerRateLimits(): (
  message: unknown,
  reply: (answer: RateLimitAnswer) => void,
) => void {
  const store = new LocalStore();
  return (message, reply) => {
    const request = message as Partial<RateLimitRequest>;
    if (request.kind !== 'rate-limit' || typeof request.key !== 'string') return;
    const { id = 0, key, timeWindow = 1000, max = 1 } = request;
    store.incr(
      key,
      (_error, result) =>
        reply({ kind: 'rate-limit', id, current: result?.current ?? 0, ttl: result?.ttl ?? 0 }),
      timeWindow,
      max,
    );
  };
}
