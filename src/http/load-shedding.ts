import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { tenantTokenFromHeader } from '../analytics/tenant-token.js';
import { AppError } from '../shared/errors.js';

export interface LoadSheddingOptions {
  /** Mean event-loop delay, in milliseconds, past which the process is saturated; 0 is off. */
  maxEventLoopDelayMs: number;
  /** Share of time (0 to 1) the event loop is busy past which it is saturated; 0 is off. */
  maxEventLoopUtilization: number;
  /** How often both are sampled; shedding starts and stops at most this late. */
  sampleIntervalMs: number;
  /** A workspace sending no more than this many requests a second is never shed. */
  quietPerSecond: number;
}

/** A saturated loop drains in well under a second once new work stops arriving. */
const RETRY_AFTER_SECONDS = 1;

/** Operations that must answer however busy the process is: probes and metrics. */
const NEVER_SHED = new Set(['health.live', 'health.ready', 'metrics']);

/**
 * Answers 503 at once, instead of queueing, while the event loop is saturated: work queued
 * behind a saturated loop only waits longer and then times out, while a quick 503 with
 * Retry-After lets the client back off. The workspaces causing the load are shed and the
 * others served: while saturated, a workspace that sent at least an equal split of the
 * recent requests is refused, so one busy tenant does not take the quiet ones down with it.
 * With a single busy workspace, that one is shed. A trickle is never shed: refusing it
 * relieves nothing. The delay is a mean over a window of samples, so a single long task
 * does not count as saturation; a loop kept busy does.
 *
 * Register after authentication, so the principal's workspace is known.
 */
export const loadSheddingPlugin = fp<LoadSheddingOptions>(
  async (app: FastifyInstance, options) => {
    // Requests are counted over one to two sampling windows.
    const quiet = (options.quietPerSecond * 2 * options.sampleIntervalMs) / 1000;
    const demand = new RecentDemand();
    const timer = setInterval(() => demand.rotate(), options.sampleIntervalMs);
    timer.unref();
    app.addHook('onClose', async () => clearInterval(timer));

    // Counted before the pressure check: a shed request is still demand.
    app.addHook('onRequest', async (request) => {
      demand.count(demandKey(request));
    });

    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      maxEventLoopUtilization: options.maxEventLoopUtilization,
      eventLoopUtilizationMode: 'interval',
      sampleInterval: options.sampleIntervalMs,
      retryAfter: RETRY_AFTER_SECONDS,
      pressureHandler: async (request, reply, _type, value) => {
        // No delay sample in a whole window: one task held the loop (start-up, a large
        // import), which refusing requests would not shorten.
        if (value === Number.POSITIVE_INFINITY) return;
        const operation = request.routeOptions.config.operation ?? '';
        if (NEVER_SHED.has(operation)) return;
        if (!demand.isHeavy(demandKey(request), quiet)) return;
        reply.header('retry-after', RETRY_AFTER_SECONDS);
        throw new AppError('overloaded');
      },
    });
  },
  { name: 'load-shedding', dependencies: ['authentication'] },
);

/**
 * Whose load a request is: its principal's workspace, or for ingestion with a Tenant Token,
 * whose workspace the handler looks up, that token, so that one tenant's stream of batches
 * is not shed together with every other tenant's.
 */
function demandKey(request: FastifyRequest): string {
  const workspaceId = request.principal?.workspaceId;
  if (workspaceId !== undefined) return workspaceId;
  if (request.routeOptions.config.auth !== 'tenant-token') return '';
  const params = request.params as { tenantToken?: unknown } | undefined;
  const tenantToken =
    typeof params?.tenantToken === 'string'
      ? params.tenantToken
      : tenantTokenFromHeader(request.headers.authorization);
  return tenantToken === undefined ? '' : `tenant:${tenantToken}`;
}

/**
 * Requests per workspace over the last two sampling windows. Totals are kept as requests
 * arrive, so the fair-share test costs two lookups however many workspaces there are.
 */
class RecentDemand {
  private previous = new Map<string, number>();
  private current = new Map<string, number>();
  private previousTotal = 0;
  private currentTotal = 0;
  private active = 0;

  count(key: string): void {
    const seen = this.current.get(key);
    if (seen === undefined && !this.previous.has(key)) this.active += 1;
    this.current.set(key, (seen ?? 0) + 1);
    this.currentTotal += 1;
  }

  rotate(): void {
    this.previous = this.current;
    this.previousTotal = this.currentTotal;
    this.current = new Map();
    this.currentTotal = 0;
    this.active = this.previous.size;
  }

  /** Whether `key` sent more than `quiet` and at least an equal split of recent requests. */
  isHeavy(key: string, quiet: number): boolean {
    const mine = (this.previous.get(key) ?? 0) + (this.current.get(key) ?? 0);
    return mine > quiet && mine * this.active >= this.previousTotal + this.currentTotal;
  }
}
