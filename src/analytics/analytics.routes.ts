import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../db/database.js';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { AppError } from '../shared/errors.js';
import { ActivityLinker } from './activity-linker.js';
import { findDimensionData, findUserActivities } from './analytics-query.service.js';
import { createAnalyticsWriter } from './analytics.repository.js';
import {
  DimensionDataQuery,
  DimensionDataSchema,
  IngestionReportSchema,
  TenantParams,
  UserActivityQuery,
  UserActivitySchema,
} from './analytics.schemas.js';
import {
  INGESTION_LIMITS,
  IngestionService,
  MAX_BUFFERED_BYTES,
  type IngestionReport,
} from './ingestion.service.js';
import {
  BodyAbortedError,
  BodyTooLargeError,
  BudgetExhaustedError,
  ByteBudget,
  JsonSyntaxError,
  readJsonBody,
  type ScannedBody,
} from './json-stream.js';
import { createLinkedRecords, type LinkedRecords } from './linked-records.repository.js';
import { MetricLinker } from './metric-linker.js';
import { createTenantLookup, tenantTokenFromHeader, type TenantLookup } from './tenant-token.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The workspace whose Tenant Token an analytics post carried. */
    tenantWorkspaceId: string | undefined;
  }
}

export interface AnalyticsRoutesOptions {
  database: Database;
  /** Posts per workspace per minute, across every ingestion route. */
  rateLimitPerMinute: number;
}

/** The path of every ingestion route, for a port that serves only them. */
export const INGESTION_PATHS: RegExp[] = [
  /^\/analytics\/(bulk\/)?[^/?]+\/?(\?|$)/,
  /^\/dimensiondata\/[^/?]+\/?(\?|$)/,
  /^\/[^/?]+\/dimensiondata\/?(\?|$)/,
  /^\/dock\/segment\/?(\?|$)/,
  /^\/dock\/(metrics\/)?[^/?]+\/?(\?|$)/,
];

/**
 * The analytics endpoint: write-only ingestion addressed by the workspace's Tenant Token,
 * and the main API routes that read the stored data back with an API Access Token.
 */
export async function analyticsRoutes(app: FastifyInstance, options: AnalyticsRoutesOptions) {
  const { database } = options;
  const records = createLinkedRecords(database);
  const ingestion = new IngestionService(createAnalyticsWriter(database), {
    activities: new ActivityLinker(database, records),
    metrics: new MetricLinker(records),
  });
  const lookup = createTenantLookup(database);

  await app.register(ingestionRoutes, { ingestion, lookup, ...options });
  await app.register(readRoutes, { ...options, records });
}

interface IngestionRoutesOptions extends AnalyticsRoutesOptions {
  ingestion: IngestionService;
  lookup: TenantLookup;
}

// Only UUID-shaped first segments reach the legacy metrics address, so that it never
// shadows another route's `/<something>/dimensiondata`.
const UUID = '^[0-9a-fA-F-]{36}$';

const PATHS = [
  '/analytics/:tenantToken',
  '/analytics/bulk/:tenantToken',
  '/dimensiondata/:tenantToken',
  // The legacy address, from when metrics were posted to the main host.
  `/:tenantToken(${UUID})/dimensiondata`,
  // Addresses some integrations are said to use, though no client or document shows them;
  // they take what their modern counterparts take.
  `/dock/:tenantToken(${UUID})`,
  `/dock/metrics/:tenantToken(${UUID})`,
] as const;

const BUSY = 'Other large posts are being stored; retry in a second';

const TENANT_TOKEN_MISSING =
  'Send the Tenant Token as the Basic user name: base64 of "<tenantToken>:"';
const TENANT_TOKEN_UNKNOWN =
  'No workspace has this Tenant Token; the current one is shown in Settings';

async function ingestionRoutes(app: FastifyInstance, options: IngestionRoutesOptions) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { ingestion, lookup } = options;
  const tags = ['analytics'];

  // These bodies are read as streams by the handlers, in bounded memory, whatever their
  // content type: tracking scripts and exporters send JSON under many labels.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  app.decorateRequest('tenantWorkspaceId', undefined);

  // Tracking scripts post from customers' own web apps, so any origin may post; these
  // routes only write, and answer nothing a page could not learn by posting.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*');
  });

  const limiter = app.createRateLimit({
    max: options.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `analytics:${request.tenantWorkspaceId ?? ''}`,
  });

  const admit = async (request: FastifyRequest, reply: FastifyReply, token: string | undefined) => {
    const workspaceId = token === undefined ? undefined : await lookup(token);
    if (workspaceId === undefined) {
      throw new AppError('tenant_token_invalid', { message: TENANT_TOKEN_UNKNOWN });
    }
    request.tenantWorkspaceId = workspaceId;
    request.log = request.log.child({ workspace: workspaceId });

    const limit = await limiter(request);
    if (limit.isAllowed) return;
    reply.header('x-rate-limit-limit', limit.max);
    reply.header('x-rate-limit-remaining', limit.remaining);
    if (!limit.isExceeded) return;
    reply.header('retry-after', limit.ttlInSeconds);
    throw new AppError('rate_limited', {
      message: `More than ${limit.max} analytics posts this minute; retry in ${limit.ttlInSeconds} s`,
    });
  };
  const fromPath = async (request: FastifyRequest, reply: FastifyReply) => {
    const { tenantToken } = request.params as { tenantToken?: string };
    await admit(request, reply, tenantToken);
  };
  const fromHeader = async (request: FastifyRequest, reply: FastifyReply) => {
    const token = tenantTokenFromHeader(request.headers.authorization);
    if (token === undefined) {
      reply.header('www-authenticate', 'Basic realm="app-center-analytics"');
      throw new AppError('unauthenticated', { message: TENANT_TOKEN_MISSING });
    }
    await admit(request, reply, token);
  };

  type Ingest = (workspaceId: string, body: ScannedBody, at: Date) => Promise<IngestionReport>;
  const budget = new ByteBudget(MAX_BUFFERED_BYTES);
  const handle = (ingest: Ingest) => async (request: FastifyRequest, reply: FastifyReply) => {
    const receivedAt = new Date();
    const body = await readBody(request, reply, budget);
    try {
      return await ingest(request.tenantWorkspaceId ?? '', body, receivedAt);
    } finally {
      body.release();
    }
  };
  const activities = handle((...args) => ingestion.ingestActivities(...args));
  const metrics = handle((...args) => ingestion.ingestMetrics(...args));
  const segment = handle((...args) => ingestion.ingestSegment(...args));

  const schema = (summary: string, withParams = true) => ({
    tags,
    summary,
    ...(withParams ? { params: TenantParams } : {}),
    response: {
      200: IngestionReportSchema,
      400: ErrorSchema,
      404: ErrorSchema,
      413: ErrorSchema,
      415: ErrorSchema,
      429: ErrorSchema,
      503: ErrorSchema,
    },
  });
  const route = { bodyLimit: INGESTION_LIMITS.maxBytes, onRequest: fromPath };
  const [single, bulk, metric, legacyMetric, dockActivity, dockMetric] = PATHS;

  typed.post(single, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.activity.create' },
    schema: schema('Store one user activity (an array is taken too)'),
    handler: activities,
  });
  typed.post(bulk, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.activity.bulk' },
    schema: schema('Store an array of user activities, up to 32 MB'),
    handler: activities,
  });
  typed.post(metric, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.metric.create' },
    schema: schema('Store one custom-metric value or an array of them'),
    handler: metrics,
  });
  typed.post(legacyMetric, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.metric.create' },
    schema: { ...schema('Legacy address of POST /dimensiondata/{tenantToken}'), hide: true },
    handler: metrics,
  });
  typed.post(dockActivity, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.activity.bulk' },
    schema: { ...schema('Alias of POST /analytics/bulk/{tenantToken}'), hide: true },
    handler: activities,
  });
  typed.post(dockMetric, {
    ...route,
    config: { auth: 'tenant-token', operation: 'analytics.metric.create' },
    schema: { ...schema('Alias of POST /dimensiondata/{tenantToken}'), hide: true },
    handler: metrics,
  });
  for (const path of [...PATHS, '/dock/segment']) {
    app.options(
      path,
      { config: { auth: 'public', operation: 'analytics.preflight' }, schema: { hide: true } },
      async (_request, reply) =>
        reply
          .code(204)
          .header('access-control-allow-methods', 'POST')
          .header('access-control-allow-headers', 'content-type, authorization, content-encoding')
          .header('access-control-max-age', '86400')
          .send(),
    );
  }

  typed.post('/dock/segment', {
    ...route,
    onRequest: fromHeader,
    config: { auth: 'tenant-token', operation: 'analytics.segment.create' },
    schema: {
      ...schema('Store Segment identify and track events; Basic auth with the Tenant Token', false),
      response: { ...schema('', false).response, 401: ErrorSchema },
    },
    handler: segment,
  });
}

/** The body, checked as JSON; refusals become the matching HTTP errors. */
async function readBody(
  request: FastifyRequest,
  reply: FastifyReply,
  budget: ByteBudget,
): Promise<ScannedBody> {
  const declared = Number(request.headers['content-length']);
  if (declared > INGESTION_LIMITS.maxBytes) throw refuse(reply, tooLarge());

  try {
    return await readJsonBody(decoded(request), INGESTION_LIMITS, budget);
  } catch (error) {
    if (error instanceof BodyTooLargeError) throw refuse(reply, tooLarge());
    if (error instanceof BudgetExhaustedError) {
      reply.header('retry-after', '1');
      throw refuse(reply, new AppError('unavailable', { message: BUSY }));
    }
    if (error instanceof JsonSyntaxError) {
      throw refuse(reply, new AppError('invalid_json', { message: error.message }));
    }
    if (error instanceof BodyAbortedError) {
      throw refuse(reply, new AppError('bad_request', { message: error.message, cause: error }));
    }
    throw error;
  }
}

function tooLarge(): AppError {
  const megabytes = INGESTION_LIMITS.maxBytes / 1024 / 1024;
  return new AppError('payload_too_large', { message: `The body is larger than ${megabytes} MB` });
}

// The rest of a refused body is never read, so the connection cannot be reused.
function refuse(reply: FastifyReply, error: AppError): AppError {
  reply.header('connection', 'close');
  return error;
}

function decoded(request: FastifyRequest): Readable {
  const encoding = request.headers['content-encoding']?.trim().toLowerCase() ?? 'identity';
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined;
  if (decoder !== undefined) return pipeline(request.raw, decoder, () => {});
  if (encoding === 'identity') return request.raw;
  throw new AppError('unsupported_media_type', {
    message: `content-encoding ${encoding.slice(0, 20)} is not supported; use gzip or none`,
  });
}

async function readRoutes(
  app: FastifyInstance,
  options: AnalyticsRoutesOptions & { records: LinkedRecords },
) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = options.database;
  const tags = ['analytics'];

  typed.get(
    '/dimensiondata',
    {
      config: { auth: 'token', operation: 'dimensionData.list' },
      schema: {
        tags,
        summary: 'Custom-metric values, oldest first; from and to are day numbers',
        querystring: DimensionDataQuery,
        response: { 200: Type.Array(DimensionDataSchema), ...AUTH_ERRORS },
      },
    },
    async (request) =>
      findDimensionData(db, options.records, requirePrincipal(request), request.query),
  );

  typed.get(
    '/useractivities',
    {
      config: { auth: 'token', operation: 'userActivity.list' },
      schema: {
        tags,
        summary: 'User activities, newest first',
        querystring: UserActivityQuery,
        response: { 200: Type.Array(UserActivitySchema), ...AUTH_ERRORS },
      },
    },
    async (request) =>
      findUserActivities(db, options.records, requirePrincipal(request), request.query),
  );
}
