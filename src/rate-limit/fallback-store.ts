import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

import type {
  FastifyRateLimitStore as RateLimitStore,
  FastifyRateLimitStoreCtor,
} from '@fastify/rate-limit';

interface StoreParams {
  continueExceeding?: boolean;
  exponentialBackoff?: boolean;
}

type StoreConstructor = new (...args: unknown[]) => RateLimitStore;

const require = createRequire(import.meta.url);
const LocalStore = require('@fastify/rate-limit/store/LocalStore.js') as StoreConstructor;
const RedisStore = require('@fastify/rate-limit/store/RedisStore.js') as StoreConstructor;

/**
 * Counts in Redis while it answers, so every process shares one limit; counts locally
 * the moment Redis is away, so requests are never blocked or held waiting on it.
 */
export function fallbackStore(redis: Redis | undefined, Local?: FastifyRateLimitStoreCtor) {
  return class FallbackStore implements RateLimitStore {
    private readonly local: RateLimitStore;
    private readonly remote: RateLimitStore | undefined;

    constructor(params: StoreParams, local?: RateLimitStore, remote?: RateLimitStore) {
      this.local =
        local ??
        (Local === undefined
          ? new LocalStore(params.continueExceeding, params.exponentialBackoff)
          : new Local(params));
      this.remote =
        remote ??
        (redis === undefined
          ? undefined
          : new RedisStore(params.continueExceeding, params.exponentialBackoff, redis, 'rl-'));
    }

    incr: RateLimitStore['incr'] = (key, callback, timeWindow, max) => {
      if (this.remote === undefined || redis?.status !== 'ready') {
        this.local.incr(key, callback, timeWindow, max);
        return;
      }
      this.remote.incr(
        key,
        (error, result) =>
          error === null ? callback(null, result) : this.local.incr(key, callback, timeWindow, max),
        timeWindow,
        max,
      );
    };

    child: RateLimitStore['child'] = (routeOptions) =>
      new FallbackStore(
        routeOptions as StoreParams,
        this.local.child(routeOptions),
        this.remote?.child(routeOptions),
      );
  };
}
