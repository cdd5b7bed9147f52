import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServerProcess, type ServerProcess } from '../../helpers/server-process.js';
import { TEST_DIALECT, type TestDatabase } from '../../helpers/test-database.js';

/** True when `npm run test:soak` asks for the long form of every reliability suite. */
export const SOAK = process.env.SOAK === '1';
export const DIALECT = TEST_DIALECT;
export const ADMIN = { email: 'admin@reliability.test', password: 'reliability admin password' };
export const ALL = { create: true, view: true, update: true, remove: true, export: true };
const CLI = fileURLToPath(new URL('../../../src/cli/run.ts', import.meta.url));

export function databaseUrl(testDb: TestDatabase): string {
  const target = testDb.target;
  return target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export function bootServer(testDb: TestDatabase, env: Record<string, string> = {}) {
  return startServerProcess({
    DATABASE_URL: databaseUrl(testDb),
    ADMIN_EMAIL: ADMIN.email,
    ADMIN_PASSWORD: ADMIN.password,
    ...env,
  });
}

/** A member session on one server: JSON calls with the cookie and CSRF token. */
export interface Session {
  call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>>;
}

export async function login(url: string, email = ADMIN.email, password = ADMIN.password) {
  const response = await fetch(`${url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (response.status !== 200) throw new Error(`login answered ${response.status}`);
  const cookie = response.headers.get('set-cookie')?.split(';')[0] ?? '';
  const { csrfToken } = (await response.json()) as { csrfToken: string };
  const headers = { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken };
  const session: Session = {
    async call(method, path, body) {
      const answer = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      if (answer.status >= 400) {
        throw new Error(`${method} ${path} answered ${answer.status}: ${await answer.text()}`);
      }
      return (answer.status === 204 ? {} : await answer.json()) as Record<string, unknown>;
    },
  };
  return session;
}

/** A private app allowed everything on Company, with its own rate limit, and one token. */
export async function appWithToken(session: Session, rateLimitPerSecond = 10_000) {
  const app = await session.call('POST', '/manage/private-apps', { name: `Load ${Date.now()}` });
  const id = String(app.id);
  await session.call('PATCH', `/manage/private-apps/${id}`, {
    permissions: { models: { Company: ALL } },
    rateLimitPerSecond,
  });
  const issued = await session.call('POST', `/manage/private-apps/${id}/tokens`, {});
  const info = issued.info as { id: string };
  return { id, token: String(issued.token), tokenId: info.id };
}

export async function tenantToken(session: Session): Promise<string> {
  const settings = await session.call('GET', '/manage/settings');
  const found = JSON.stringify(settings).match(/"tenantToken":"([^"]+)"/);
  if (found?.[1] === undefined) throw new Error('no tenant token in the settings');
  return found[1];
}

/** Seeds a second workspace on the same database with the CLI, as an operator would. */
export async function initWorkspace(testDb: TestDatabase, workspace: string, email: string) {
  const password = 'second workspace password';
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      'init',
      '--workspace',
      workspace,
      '--email',
      email,
      '--password',
      password,
      '--json',
    ],
    { env: { ...process.env, DATABASE_URL: databaseUrl(testDb) }, stdio: 'pipe' },
  );
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`init exited with ${code}: ${output.join('')}`);
  return { email, password };
}

/**
 * Sends `signal` and resolves with how the process ended. Unlike `stop`, this also returns
 * at once for a process already killed by a signal, whose exit code stays null.
 */
export function ended(server: ServerProcess, signal: NodeJS.Signals = 'SIGKILL') {
  const { child } = server;
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, by) => resolve({ code, signal: by }));
    child.kill(signal);
  });
}

export async function stopAll(servers: ServerProcess[]) {
  await Promise.all(servers.splice(0).map((server) => ended(server)));
}
