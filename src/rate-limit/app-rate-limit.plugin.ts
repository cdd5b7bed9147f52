import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { workerShare } from '../cluster/worker-share.js';
import { AppError } from '../shared/errors.js';

export interface AppRateLimitOptions {
  /** Planhat's hard limit: 150 requests per second per app, settable per app. */
  defaultPerSecond: number;
  /** Planhat's burst rule: at most 50 requests of one app in flight at once. */
  maxInFlight: number;
  /** The counting window; one second, since limits are per second. */
  windowMs?: number;
}

/**
 * Limits each private app after its token is verified, so the count is per app (not per
 * IP) and a refused request is still attributed to the app in its logs.
 */
export const appRateLimitPlugin = fp<AppRateLimitOptions>(
  async (app: FastifyInstance, options) => {
    const inFlight = new Map<string, number>();
    // Each of N workers admits floor(max / N) of an app's requests at once, so the cluster
    // never holds more than max, without a round trip to the primary on every request and
    // its release. The cluster hands out connections round-robin, so an app's concurrent
    // requests spread evenly enough over the workers that the shares fill together.
    const perProcess = workerShare(options.maxInFlight);
    const limiter = app.rateLimit({
      timeWindow: options.windowMs ?? 1_000,
      max: (request) => request.tokenContext?.rateLimitPerSecond ?? options.defaultPerSecond,
      keyGenerator: (request) => `app:${request.tokenContext?.appId ?? ''}`,
    });

    app.addHook('onRequest', async function limitApps(request, reply) {
      const principal = request.principal;
      if (principal?.kind !== 'app') return;
      await limiter.call(this, request, reply);

      const running = inFlight.get(principal.appId) ?? 0;
      if (running >= perProcess) {
        reply.header('retry-after', '1');
        throw new AppError('rate_limited', {
          message: `More than ${options.maxInFlight} requests of this app are in flight`,
        });
      }
      inFlight.set(principal.appId, running + 1);
      reply.raw.once('close', () => {
        const left = (inFlight.get(principal.appId) ?? 1) - 1;
        if (left <= 0) inFlight.delete(principal.appId);
        else inFlight.set(principal.appId, left);
      });
    });

    // Planhat clients read these names; the plugin writes x-ratelimit-*.
    app.addHook('onSend', async (_request, reply) => {
      const limit = reply.getHeader('x-ratelimit-limit');
      const remaining = reply.getHeader('x-ratelimit-remaining');
      if (limit !== undefined) reply.header('x-rate-limit-limit', limit);
      if (remaining !== undefined) reply.header('x-rate-limit-remaining', remaining);
    });
  },
  { name: 'app-rate-limit', dependencies: ['authentication'] },
);
