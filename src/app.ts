import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { Redis } from 'ioredis';
import type { Config } from './config/config.js';
import type { Database } from './db/database.js';
import { analyticsRoutes } from './analytics/analytics.routes.js';
import { authRoutes } from './auth/auth.routes.js';
import { authenticationPlugin } from './auth/authentication.plugin.js';
import { SessionService } from './auth/session.service.js';
import { registerErrorHandling } from './http/error-handler.js';
import { closeConnectionsOnShutdown } from './http/graceful-close.js';
import { loadSheddingPlugin } from './http/load-shedding.js';
import { addSecurityHeaders } from './http/security-headers.js';
import './http/route-config.js';
import { memberRoutes } from './members/member.routes.js';
import { OWASP_SCRYPT_COST, type ScryptCost } from './members/password.js';
import { healthRoutes } from './observability/health.routes.js';
import { Metrics } from './observability/metrics.js';
import { requestLinePlugin } from './observability/request-line.plugin.js';
import { recordRoutes } from './records/record.routes.js';
import { roleRoutes } from './roles/role.routes.js';
import { settingsRoutes } from './settings/settings.routes.js';
import { uiPlugin } from './ui/ui.plugin.js';
import { privateAppRoutes } from './private-apps/private-app.routes.js';
import { PrivateAppService } from './private-apps/private-app.service.js';
import {
  appRateLimitPlugin,
  type AppRateLimitOptions,
} from './rate-limit/app-rate-limit.plugin.js';
import { fallbackStore } from './rate-limit/fallback-store.js';
import { requestLogPlugin, type RequestLogSettings } from './request-log/request-log.plugin.js';
import {
  LocalRevocationBus,
  SqliteRevocationBus,
  type RevocationBus,
} from './tokens/revocation-bus.js';
import { CachingTokenAuthenticator } from './tokens/token-authenticator.js';
import { tokenRoutes } from './tokens/token.routes.js';
import { TokenService } from './tokens/token.service.js';

export interface AppOptions {
  config: Config;
  database: Database;
  /** Carries revocations to every process; a local bus serves a single process. */
  revocations?: RevocationBus;
  redis?: Redis;
  /** Where log lines go; pino's destination stream. Defaults to stdout. */
  logStream?: NodeJS.WritableStream;
  /** Tests lower the scrypt cost to keep suites fast; production keeps OWASP's. */
  passwordCost?: ScryptCost;
  loginLimits?: { perIpPerMinute: number; perAccountPerMinute: number };
  appRateLimit?: AppRateLimitOptions;
  /** Where counts live without Redis (or while it is away); in-process by default. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
  /** Request log buffering; tests and benchmarks tune it or turn recording off. */
  requestLog?: RequestLogSettings;
}

const DOCS_PREFIX = '/docs';

/** Headers and fields that hold credentials; pino replaces them wherever they appear. */
const REDACTED = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'password',
  'token',
  '*.password',
  '*.token',
  '*.tenantToken',
];

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, database } = options;
  const secureCookies = config.publicUrl?.startsWith('https://') ?? false;
  const metrics = new Metrics();

  const logger: FastifyServerOptions['logger'] = {
    level: config.logLevel,
    redact: { paths: REDACTED, censor: '[redacted]' },
    serializers: {
      // The default serializer logs the raw URL; the request line logs the route instead.
      req: (request: { method: string; id: string }) => ({
        method: request.method,
        id: request.id,
      }),
    },
    ...(options.logStream === undefined ? {} : { stream: options.logStream }),
  };

  const app = Fastify({
    logger,
    // The request line plugin writes the one line per request; Fastify's would log URLs.
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: config.requestTimeoutMs,
    // Node checks request timeouts on this interval (30 s by default), which would let a
    // slow-drip client hold a connection long past the timeout.
    http: { connectionsCheckingInterval: Math.min(1_000, config.requestTimeoutMs) },
    connectionTimeout: config.requestTimeoutMs,
    bodyLimit: config.bodyLimitBytes,
    requestIdHeader: false,
    // Requests already sent when shutdown begins are served, not refused: see graceful-close.
    return503OnClosing: false,
    genReqId: () => crypto.randomUUID(),
    ajv: { customOptions: { removeAdditional: false } },
    routerOptions: { maxParamLength: 500, ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  app.removeContentTypeParser(['text/plain', 'application/json']);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  // Many clients send `content-type: application/json` on a DELETE or GET with no body;
  // that is no body, not malformed JSON.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, typeof body === 'string' ? body : body.toString('utf8'), done);
  });

  registerErrorHandling(app);
  closeConnectionsOnShutdown(app);
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith(DOCS_PREFIX)) {
      route.config = { ...route.config, auth: 'public', operation: 'docs' };
    }
  });

  addSecurityHeaders(app, { hsts: secureCookies });
  await app.register(cookie);
  await app.register(rateLimit, {
    global: false,
    store: fallbackStore(options.redis, options.rateLimitStore),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: 'rate_limited',
      message: `Too many requests; retry in ${Math.ceil(context.ttl / 1000)} s`,
    }),
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'App Center',
        version: '0.1.0',
        description:
          'Planhat-compatible workspace API with Private Apps and their API Access Tokens',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'app_center_session' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: true });

  await app.register(requestLinePlugin, { metrics });
  const sessions = new SessionService(database.db, options.passwordCost ?? OWASP_SCRYPT_COST);
  const revocations =
    options.revocations ??
    (database.sqlite === undefined
      ? new LocalRevocationBus()
      : new SqliteRevocationBus(database.sqlite));
  const authenticator = new CachingTokenAuthenticator(database, { bus: revocations });
  await app.register(authenticationPlugin, {
    sessions,
    tokens: authenticator,
    cookieName: secureCookies ? '__Host-app_center_session' : 'app_center_session',
  });
  const { overload } = config;
  await app.register(loadSheddingPlugin, {
    maxEventLoopDelayMs: overload.maxEventLoopDelayMs,
    maxEventLoopUtilization: overload.maxEventLoopUtilizationPercent / 100,
    sampleIntervalMs: overload.sampleIntervalMs,
    quietPerSecond: overload.quietPerSecond,
  });
  await app.register(
    appRateLimitPlugin,
    options.appRateLimit ?? { defaultPerSecond: 150, maxInFlight: 50 },
  );
  await app.register(requestLogPlugin, {
    ...options.requestLog,
    database,
    metrics,
    revocations,
    retentionDays: config.requestLogRetentionDays,
  });

  app.get(
    '/openapi.json',
    { config: { auth: 'public', operation: 'openapi' }, schema: { hide: true } },
    async () => app.swagger(),
  );
  await app.register(healthRoutes, { database, metrics });
  await app.register(authRoutes, {
    db: database.db,
    sessions,
    secureCookies,
    loginLimits: options.loginLimits ?? { perIpPerMinute: 30, perAccountPerMinute: 10 },
  });
  const passwordCost = options.passwordCost ?? OWASP_SCRYPT_COST;
  await app.register(memberRoutes, { db: database.db, passwordCost });
  await app.register(roleRoutes, { db: database.db });
  await app.register(settingsRoutes, { db: database.db });

  const tokens = new TokenService(database.db, revocations);
  const apps = new PrivateAppService(database.db, revocations);
  await app.register(privateAppRoutes, { db: database.db, apps, tokens });
  await app.register(tokenRoutes, { db: database.db, tokens, revokePerMinute: 20 });
  await app.register(analyticsRoutes, {
    database,
    rateLimitPerMinute: config.analyticsRateLimitPerMinute,
  });
  await app.register(recordRoutes, { database });

  await app.register(uiPlugin, {});

  return app;
}
