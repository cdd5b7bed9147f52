import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const SA = { create: true, view: true, update: true, remove: true, export: true };

async function login(url: string, email: string, password: string) {
  const response = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
  const body = (await response.json()) as { csrfToken?: string };
  return { status: response.status, cookie, csrfToken: body.csrfToken ?? '' };
}

function databaseUrl(testDb: TestDatabase): string {
  const target = testDb.target;
  return target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
}

describe('the server as a process', () => {
  const running: ServerProcess[] = [];
  let testDb: TestDatabase | undefined;
  afterEach(async () => {
    await Promise.all(running.splice(0).map((server) => server.stop('SIGKILL')));
    await testDb?.drop();
    testDb = undefined;
  });

  it(
    'creates a first administrator on an empty database whose printed password logs in',
    { timeout: 60_000 },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'app-center-first-run-'));
      const server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` });
      running.push(server);
      const banner = server.output.join('\n');
      const email = /email:\s+(\S+)/.exec(banner)?.[1];
      const password = /password:\s+(\S+)/.exec(banner)?.[1];
      expect(email).toBe('admin@example.com');
      expect(password).toMatch(/^[A-Za-z0-9_-]{20}$/);
      const session = await login(server.url, email ?? '', password ?? '');
      expect(session.status).toBe(200);
    },
  );

  it(
    'answers every in-flight request on SIGTERM, then exits cleanly',
    { timeout: 60_000 },
    async () => {
      testDb = await createTestDatabase();
      const server = await startServerProcess({
        DATABASE_URL: databaseUrl(testDb),
        ADMIN_EMAIL: 'admin@acme.test',
        ADMIN_PASSWORD: 'correct horse battery staple',
      });
      running.push(server);
      // Real-cost logins queue behind two hashing slots: once the first answers, the rest
      // have long been accepted and are waiting their turn.
      const inFlight = Array.from({ length: 6 }, () =>
        login(server.url, 'admin@acme.test', 'correct horse battery staple'),
      );
      await Promise.race(inFlight);
      const started = Date.now();
      const exit = server.stop('SIGTERM');
      const results = await Promise.all(inFlight);
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await exit, server.output.join('\n')).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
    },
  );

  it('revokes a token on every process at once', { timeout: 120_000 }, async () => {
    testDb = await createTestDatabase();
    const env = {
      DATABASE_URL: databaseUrl(testDb),
      ADMIN_EMAIL: 'admin@acme.test',
      ADMIN_PASSWORD: 'correct horse battery staple',
    };
    const a = await startServerProcess(env);
    running.push(a);
    const b = await startServerProcess(env);
    running.push(b);

    const session = await login(a.url, env.ADMIN_EMAIL, env.ADMIN_PASSWORD);
    const headers = {
      'content-type': 'application/json',
      cookie: session.cookie,
      'x-csrf-token': session.csrfToken,
    };
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${a.url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return (response.status === 204 ? {} : await response.json()) as Record<string, unknown>;
    };
    const app = await call('POST', '/manage/private-apps', { name: 'Cross-process' });
    await call('PATCH', `/manage/private-apps/${String(app.id)}`, {
      permissions: { models: { ServiceAccount: SA } },
    });

    for (let round = 0; round < 20; round += 1) {
      const issued = await call('POST', `/manage/private-apps/${String(app.id)}/tokens`, {});
      const token = String(issued.token);
      const info = issued.info as { id: string };
      const onB = () =>
        fetch(`${b.url}/myprofile`, { headers: { authorization: `Bearer ${token}` } }).then(
          (r) => r.status,
        );
      expect(await onB()).toBe(200);
      await call('DELETE', `/manage/private-apps/${String(app.id)}/tokens/${info.id}`);
      expect(await onB(), `round ${round}`).toBe(401);
    }

    await call('PATCH', `/manage/private-apps/${String(app.id)}`, { enabled: false });
  });
});
