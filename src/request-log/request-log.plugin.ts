import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge } from 'prom-client';
import type { Database } from '../db/database.js';
import { toErrorBody } from '../http/error-handler.js';
import type { Metrics } from '../observability/metrics.js';
import { PrivateAppService } from '../private-apps/private-app.service.js';
import type { RevocationBus } from '../tokens/revocation-bus.js';
import type { TokenContext } from '../tokens/token-authenticator.js';
import { permissionUse, type PermissionUse, type RequestLogExtras } from './permission-use.js';
import { redactedPath, redactTokens } from './request-path.js';
import { DEFAULT_RETENTION, RequestLogRetention } from './request-log.retention.js';
import { requestLogRoutes } from './request-log.routes.js';
import { RequestLogService } from './request-log.service.js';
import { createRequestLogStore } from './request-log.store.js';
import {
  DEFAULT_WRITER_OPTIONS,
  RequestLogWriter,
  type RequestLogEntry,
  type RequestLogStore,
} from './request-log.writer.js';

export type { RequestLogExtras } from './permission-use.js';

/** What the request log records of a failed request, from the error that ended it. */
interface RequestFailure {
  code: string;
  message: string;
  permission: string | undefined;
}

/** Flushing and retention, for shutdown paths, tests and benchmarks. */
export interface RequestLogControl {
  /** Writes every buffered row now. */
  flush(): Promise<void>;
  /** Deletes rows past the retention as of `now`; returns how many. */
  purgeExpired(now?: number): Promise<number>;
  readonly buffered: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * What a route adds to its request's log row: the model when its operation does not
     * name one, the permission actions used, bulk counts and ignored fields.
     */
    requestLogExtras: RequestLogExtras | undefined;
    requestLogFailure: RequestFailure | undefined;
  }

  interface FastifyInstance {
    requestLog: RequestLogControl;
  }
}

export interface RequestLogSettings {
  /** Off records nothing (the query routes stay); for measuring what logging costs. */
  enabled?: boolean;
  maxBuffered?: number;
  flushRows?: number;
  chunkRows?: number;
  flushIntervalMs?: number;
  retentionIntervalMs?: number;
  retentionBatchRows?: number;
  /** Replaces the database store, for tests of a failing or slow database. */
  store?: RequestLogStore;
}

export interface RequestLogPluginOptions extends RequestLogSettings {
  database: Database;
  metrics: Metrics;
  revocations: RevocationBus;
  retentionDays: number;
}

const MAX_USER_AGENT_LENGTH = 500;
const MAX_MESSAGE_LENGTH = 1_000;
const MAX_IGNORED_FIELDS = 100;

/**
 * Records every request made with a known token, accepted or refused, against its app,
 * and serves the Logs tab. Recording is one object pushed per response; the writer
 * batches rows to the database off the request path and flushes them on close.
 */
export const requestLogPlugin = fp<RequestLogPluginOptions>(
  async (app: FastifyInstance, options) => {
    const { database, metrics } = options;
    const written = new Counter({
      name: 'app_center_request_log_rows_written_total',
      help: 'Request log rows written to the database',
      registers: [metrics.registry],
    });
    const dropped = new Counter({
      name: 'app_center_request_log_rows_dropped_total',
      help: 'Request log rows dropped because the buffer was full',
      registers: [metrics.registry],
    });

    const writer = new RequestLogWriter(options.store ?? createRequestLogStore(database), {
      maxBuffered: options.maxBuffered ?? DEFAULT_WRITER_OPTIONS.maxBuffered,
      flushRows: options.flushRows ?? DEFAULT_WRITER_OPTIONS.flushRows,
      chunkRows: options.chunkRows ?? DEFAULT_WRITER_OPTIONS.chunkRows,
      intervalMs: options.flushIntervalMs ?? DEFAULT_WRITER_OPTIONS.intervalMs,
      onWritten: (rows) => written.inc(rows),
      onDropped: (rows) => dropped.inc(rows),
      warnDropped: (rows) =>
        app.log.warn({ dropped: rows }, 'request log buffer full: rows dropped'),
      onError: (error, rows) =>
        app.log.error({ err: error, rows }, 'request log write failed: rows kept for a retry'),
    });
    new Gauge({
      name: 'app_center_request_log_rows_buffered',
      help: 'Request log rows waiting to be written',
      registers: [metrics.registry],
      collect() {
        this.set(writer.buffered);
      },
    });

    const retention = new RequestLogRetention(database.db, {
      retentionDays: options.retentionDays,
      intervalMs: options.retentionIntervalMs ?? DEFAULT_RETENTION.intervalMs,
      batchRows: options.retentionBatchRows ?? DEFAULT_RETENTION.batchRows,
      onError: (error) => app.log.error({ err: error }, 'request log retention failed'),
    });

    app.decorate('requestLog', {
      flush: () => writer.flush(),
      purgeExpired: (now?: number) => retention.purge(now),
      get buffered() {
        return writer.buffered;
      },
    });
    app.decorateRequest('requestLogExtras', undefined);
    app.decorateRequest('requestLogFailure', undefined);

    if (options.enabled !== false) {
      app.addHook('onError', (request, _reply, error, done) => {
        if (request.tokenContext !== undefined)
          request.requestLogFailure = failureOf(request, error);
        done();
      });
      app.addHook('onResponse', (request, reply, done) => {
        const context = request.tokenContext;
        if (context !== undefined) writer.enqueue(toEntry(request, reply, context));
        done();
      });
    }

    app.addHook('onReady', async () => {
      writer.start();
      retention.start();
    });
    // Runs after the server has stopped taking requests and finished the open ones.
    app.addHook('onClose', async () => {
      await retention.stop();
      await writer.close();
    });

    const apps = new PrivateAppService(database.db, options.revocations);
    const logs = new RequestLogService(database, apps);
    await app.register(requestLogRoutes, { logs });
  },
  { name: 'request-log', dependencies: ['authentication'] },
);

function failureOf(request: FastifyRequest, error: unknown): RequestFailure {
  const { body } = toErrorBody(error, request.id);
  return { code: body.error, message: body.message, permission: body.permission };
}

interface RecordedUse {
  model: string | null;
  /** Comma-separated actions, as the `action` column holds them. */
  action: string | null;
}

function recorded(use: PermissionUse): RecordedUse {
  return { model: use.model, action: use.actions.length === 0 ? null : use.actions.join(',') };
}

/** Operations without extras map to the same use every time. */
const USE_BY_OPERATION = new Map<string, RecordedUse>();

function useOf(operation: string, extras: RequestLogExtras | undefined): RecordedUse {
  if (extras !== undefined) return recorded(permissionUse(operation, extras));
  let use = USE_BY_OPERATION.get(operation);
  if (use === undefined) {
    use = recorded(permissionUse(operation));
    USE_BY_OPERATION.set(operation, use);
  }
  return use;
}

function toEntry(
  request: FastifyRequest,
  reply: FastifyReply,
  context: TokenContext,
): RequestLogEntry {
  const config = request.routeOptions.config;
  const route = request.routeOptions.url ?? '';
  const operation = config.operation ?? 'unmatched';
  const extras = request.requestLogExtras;
  const use = useOf(operation, extras);
  const failure = request.requestLogFailure;
  const status = reply.statusCode;
  const elapsed = reply.elapsedTime;
  const counts = extras?.counts;
  const ignored = extras?.ignoredFields;
  const userAgent = request.headers['user-agent'] ?? '';

  return {
    workspaceId: context.workspaceId,
    appId: context.appId,
    tokenId: context.tokenId,
    tokenHint: context.tokenHint,
    // When the response was sent, as access logs stamp it: sequential requests keep their
    // order, which start times rebuilt from a millisecond clock and a duration do not.
    at: Date.now(),
    requestId: request.id,
    method: request.method,
    route,
    // A Tenant Token travels in its routes' paths: those rows keep the pattern only.
    path: config.auth === 'tenant-token' ? route : redactedPath(request.url),
    status,
    durationMs: Math.round(elapsed * 100) / 100,
    ip: request.ip,
    userAgent: redactTokens(
      userAgent.length > MAX_USER_AGENT_LENGTH
        ? userAgent.slice(0, MAX_USER_AGENT_LENGTH)
        : userAgent,
    ),
    model: use.model,
    operation,
    action: use.action,
    created: counts?.created ?? null,
    updated: counts?.updated ?? null,
    errors: counts?.errors ?? null,
    ignoredFields:
      ignored === undefined || ignored.length === 0
        ? null
        : JSON.stringify(ignored.slice(0, MAX_IGNORED_FIELDS)),
    errorCode: status >= 400 ? (request.errorCode ?? failure?.code ?? null) : null,
    errorMessage: failure === undefined ? null : failure.message.slice(0, MAX_MESSAGE_LENGTH),
    missingPermission: failure?.permission ?? null,
    accepted: request.principal?.kind === 'app',
  };
}
