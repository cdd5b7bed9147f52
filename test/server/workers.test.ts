import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const RUN = fileURLToPath(new URL('../../src/cli/run.ts', import.meta.url));
const PASSWORD = 'correct horse battery staple';

interface Cluster {
  url: string;
  child: ChildProcess;
  output: string[];
}

async function startCluster(databaseUrl: string, workers: number): Promise<Cluster> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', RUN, 'serve', '--workers', `${workers}`],
    {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        DATABASE_URL: databaseUrl,
        ADMIN_EMAIL: 'admin@acme.test',
        ADMIN_PASSWORD: PASSWORD,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(output.join(''))), 30_000);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      output.push(line);
      const match = /listening at (\S+) \(/.exec(line);
      if (match?.[1] === undefined) return;
      clearTimeout(timer);
      resolve(match[1]);
    });
  });
  return { url, child, output };
}

/** A request on a fresh connection, so the cluster may hand it to any worker. */
function call(url: string, init: RequestInit = {}) {
  return fetch(url, { ...init, headers: { ...init.headers, connection: 'close' } });
}

describe('serve --workers', () => {
  let testDb: TestDatabase | undefined;
  let running: Cluster | undefined;
  afterEach(async () => {
    running?.child.kill('SIGKILL');
    running = undefined;
    await testDb?.drop();
  });

  it(
    'shares the port, the rate limits and revocations between workers, and stops cleanly',
    { timeout: 120_000 },
    async () => {
      testDb = await createTestDatabase();
      const target = testDb.target;
      const databaseUrl = target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
      running = await startCluster(databaseUrl, 2);
      const { url } = running;
      expect(running.output.join('\n').match(/created a first workspace/g)).toHaveLength(1);

      const login = await call(`${url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@acme.test', password: PASSWORD }),
      });
      const cookie = login.headers.get('set-cookie')?.split(';')[0] ?? '';
      const { csrfToken } = (await login.json()) as { csrfToken: string };
      const manage = async (method: string, path: string, body?: unknown) => {
        const response = await call(`${url}${path}`, {
          method,
          headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return (response.status === 204 ? {} : await response.json()) as Record<string, never>;
      };
      const app = await manage('POST', '/manage/private-apps', { name: 'Workers' });
      await manage('PATCH', `/manage/private-apps/${app.id}`, { rateLimitPerSecond: 2 });
      const issued = await manage('POST', `/manage/private-apps/${app.id}/tokens`, {});
      const profile = () =>
        call(`${url}/myprofile`, { headers: { authorization: `Bearer ${issued.token}` } });

      const started = Date.now();
      const statuses = await Promise.all(Array.from({ length: 30 }, () => profile()));
      const windows = Math.floor((Date.now() - started) / 1_000) + 2;
      const ok = statuses.filter((r) => r.status === 200).length;
      // One limit for the app across both workers: 2 in each window the burst touched,
      // where counting per worker would allow twice that.
      expect(ok).toBeGreaterThan(0);
      expect(ok).toBeLessThanOrEqual(2 * windows);
      expect(statuses.length - ok).toBeGreaterThan(0);

      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const info = issued.info as unknown as { id: string };
      await manage('DELETE', `/manage/private-apps/${app.id}/tokens/${info.id}`);
      const after = await Promise.all(Array.from({ length: 6 }, () => profile()));
      expect(after.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 401]);

      const exit = new Promise((resolve) => running?.child.once('exit', resolve));
      running.child.kill('SIGTERM');
      expect(await exit).toBe(0);

      // Both workers wrote their request logs to the one database, none lost on shutdown.
      const logged = await testDb.database.db
        .selectFrom('request_logs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('app_id', '=', String(app.id))
        .executeTakeFirstOrThrow();
      expect(Number(logged.n)).toBe(statuses.length + after.length);
    },
  );
});
