import closeWithGrace from 'close-with-grace';
import { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { listenForAnalytics } from './analytics/analytics-port.js';
import { buildApp } from './app.js';
import type { Config } from './config/config.js';
import { openDatabase, type Database } from './db/database.js';
import { migrateToLatest } from './db/migrate.js';
import {
  LocalRevocationBus,
  PostgresRevocationBus,
  SqliteRevocationBus,
  type RevocationBus,
} from './tokens/revocation-bus.js';
import { initWorkspace } from './workspaces/workspace.service.js';
import { listWorkspaces } from './workspaces/workspace.repository.js';

export interface RunningServer {
  app: FastifyInstance;
  database: Database;
  url: string;
  /** The port serving only the analytics endpoints, when ANALYTICS_PORT is set. */
  analyticsUrl: string | undefined;
  close(): Promise<void>;
}

const DEFAULT_ADMIN_EMAIL = 'admin@example.com';
export const REDIS_COMMAND_TIMEOUT_MS = 250;

export interface StartOptions {
  /** Create a first workspace on an empty database; a cluster primary does it instead. */
  seed?: boolean;
  /** The local rate-limit counters; cluster workers keep theirs in the primary. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
}

function open(config: Config): Database {
  return openDatabase(config.database, {
    onPoolError: (error) => console.error(`database connection error: ${error.message}`),
  });
}

/** Migrates and seeds once, before a cluster primary forks its workers. */
export async function prepareDatabase(config: Config): Promise<void> {
  const database = open(config);
  try {
    await migrateToLatest(database);
    await seedFirstWorkspace(database, config, config.publicUrl);
  } finally {
    await database.close();
  }
}

/** Opens the database, migrates, seeds a first workspace if there is none, and listens. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const database = open(config);
  await migrateToLatest(database);
  const redis =
    config.redisUrl === undefined
      ? undefined
      : new Redis(config.redisUrl, {
          maxRetriesPerRequest: 1,
          // A rate-limit count waits no longer than this on a Redis that stopped answering;
          // then the request is counted locally instead.
          commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
          enableOfflineQueue: false,
          lazyConnect: false,
        });
  redis?.on('error', () => {
    // Redis is optional: rate limiting falls back to local counters while it is away.
  });

  const revocations = await startRevocationBus(database);
  const app = await buildApp({
    config,
    database,
    revocations,
    ...(redis === undefined ? {} : { redis }),
    ...(options.rateLimitStore === undefined ? {} : { rateLimitStore: options.rateLimitStore }),
  });
  await app.listen({ port: config.port, host: config.host });
  const analytics =
    config.analyticsPort === undefined
      ? undefined
      : await listenForAnalytics(app, { ...config, port: config.analyticsPort });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = config.publicUrl ?? `http://${displayHost(config.host)}:${port}`;

  if (options.seed !== false) await seedFirstWorkspace(database, config, url);

  let closing: Promise<void> | undefined;
  return {
    app,
    database,
    url,
    analyticsUrl:
      analytics === undefined ? undefined : `http://${displayHost(config.host)}:${analytics.port}`,
    close() {
      closing ??= (async () => {
        await analytics?.close();
        await app.close();
        await revocations.close();
        redis?.disconnect();
        await database.close();
      })();
      return closing;
    },
  };
}

async function seedFirstWorkspace(database: Database, config: Config, url: string | undefined) {
  if ((await listWorkspaces(database.db)).length > 0) return;
  const result = await initWorkspace(database.db, {
    workspaceName: 'My workspace',
    adminEmail: config.adminEmail ?? DEFAULT_ADMIN_EMAIL,
    ...(config.adminPassword === undefined ? {} : { adminPassword: config.adminPassword }),
  });
  const lines = [
    '',
    url === undefined
      ? 'App Center created a first workspace. Log in with:'
      : `App Center created a first workspace. Log in at ${url}/`,
    `  email:    ${result.admin.email}`,
    result.admin.password === undefined
      ? '  password: the one in ADMIN_PASSWORD'
      : `  password: ${result.admin.password}   (shown only this once)`,
    '',
  ];
  // Printed, never logged: the one-time password must not land in log storage.
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * Processes on one PostgreSQL database share revocations over LISTEN/NOTIFY; processes
 * on one SQLite file, through its revocations table.
 */
async function startRevocationBus(database: Database): Promise<RevocationBus> {
  if (database.pool !== undefined) {
    const bus = new PostgresRevocationBus(
      database.pool,
      (error) => console.error(`revocation bus: ${error.message}`),
      database.schema,
    );
    await bus.start();
    return bus;
  }
  if (database.sqlite !== undefined) return new SqliteRevocationBus(database.sqlite);
  return new LocalRevocationBus();
}

function displayHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? 'localhost' : host;
}

/** Serves until SIGTERM or SIGINT, then finishes in-flight requests and closes cleanly. */
export async function serveUntilSignalled(
  config: Config,
  options: StartOptions = {},
): Promise<RunningServer> {
  const server = await startServer(config, options);
  process.stdout.write(`App Center listening at ${server.url}\n`);
  const logger = { error: (message: unknown) => server.app.log.error({ message }, 'shutdown') };
  closeWithGrace({ delay: 10_000, logger }, async ({ signal, err }) => {
    if (err !== undefined) server.app.log.error({ err }, 'shutting down after an error');
    else server.app.log.info({ signal }, 'shutting down');
    await server.close();
  });
  return server;
}
