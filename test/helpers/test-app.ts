import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { parseConfig, type Config } from '../../src/config/config.js';
import type { ScryptCost } from '../../src/members/password.js';
import { initWorkspace, type InitResult } from '../../src/workspaces/workspace.service.js';
import { createTestDatabase, type TestDatabase } from './test-database.js';

/** Cheap enough for suites that log in often; one test checks the production cost. */
export const TEST_PASSWORD_COST: ScryptCost = { N: 2 ** 10, r: 8, p: 1 };
export const ADMIN_PASSWORD = 'correct horse battery staple';
const NO_SHEDDING: Config['overload'] = {
  maxEventLoopDelayMs: 0,
  maxEventLoopUtilizationPercent: 0,
  sampleIntervalMs: 1_000,
  quietPerSecond: 0,
};

export interface Session {
  cookie: string;
  csrfToken: string;
}

export interface TestApp {
  app: FastifyInstance;
  testDb: TestDatabase;
  config: Config;
  /** Every log line the app wrote, for checks that no secret is ever logged. */
  logs: string[];
  /** A seeded workspace with its first Administrator. */
  seed: InitResult;
  seedWorkspace(name: string, email: string): Promise<InitResult>;
  login(email?: string, password?: string): Promise<Session>;
  /** An injected request carrying a session's cookie and CSRF header. */
  as(session: Session, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** What a suite may change about the app it tests, beside the configuration. */
export type TestAppOptions = Pick<
  AppOptions,
  'loginLimits' | 'revocations' | 'requestLog' | 'appRateLimit'
> & {
  /** Extra routes, added before the app is ready. */
  routes?: (app: FastifyInstance) => void;
};

export async function createTestApp(
  overrides: Partial<Config> = {},
  appOptions: TestAppOptions = {},
): Promise<TestApp> {
  const testDb = await createTestDatabase();
  // In process, the event loop is the test runner's too: its delay measures the suite, not
  // the server, so load shedding is left to the suites that turn it on.
  const config = { ...parseConfig({ LOG_LEVEL: 'info' }), overload: NO_SHEDDING, ...overrides };
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  const app = await buildApp({
    config,
    database: testDb.database,
    logStream,
    passwordCost: TEST_PASSWORD_COST,
    loginLimits: appOptions.loginLimits ?? { perIpPerMinute: 1000, perAccountPerMinute: 1000 },
    ...(appOptions.revocations === undefined ? {} : { revocations: appOptions.revocations }),
    ...(appOptions.requestLog === undefined ? {} : { requestLog: appOptions.requestLog }),
    ...(appOptions.appRateLimit === undefined ? {} : { appRateLimit: appOptions.appRateLimit }),
  });
  appOptions.routes?.(app);
  await app.ready();

  const seedWorkspace = (name: string, email: string) =>
    initWorkspace(testDb.database.db, {
      workspaceName: name,
      adminEmail: email,
      adminPassword: ADMIN_PASSWORD,
      passwordCost: TEST_PASSWORD_COST,
    });
  const seed = await seedWorkspace('Acme', 'admin@acme.test');

  async function login(email = seed.admin.email, password = ADMIN_PASSWORD): Promise<Session> {
    const response = await app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { email, password },
    });
    if (response.statusCode !== 200) {
      throw new Error(`login failed: ${response.statusCode} ${response.body}`);
    }
    const cookie = response.cookies.find((c) => c.name === app.sessionCookieName);
    if (cookie === undefined) throw new Error('login set no session cookie');
    return {
      cookie: `${cookie.name}=${cookie.value}`,
      csrfToken: response.json<{ csrfToken: string }>().csrfToken,
    };
  }

  return {
    app,
    testDb,
    config,
    logs,
    seed,
    seedWorkspace,
    login,
    as(session, options) {
      return app.inject({
        ...options,
        headers: {
          ...options.headers,
          cookie: session.cookie,
          'x-csrf-token': session.csrfToken,
        },
      });
    },
    async close() {
      await app.close();
      await testDb.drop();
    },
  };
}
