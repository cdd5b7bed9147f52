import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type APIRequestContext, type Browser, type Page } from 'playwright-core';
import { parseConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ADMIN_EMAIL = 'admin@e2e.test';
export const ADMIN_PASSWORD = 'correct horse battery staple';
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UI = join(ROOT, 'ui');
const BUILT_PAGE = join(UI, 'dist', 'index.html');
const SCREENSHOTS = join(ROOT, 'artifacts', 'screenshots');
const BUILD_LOCK = join(ROOT, 'node_modules', '.cache', 'app-center-ui-build.lock');
// Everything the bundle is built from, besides the packages.
const UI_SOURCES = [join(UI, 'src'), join(UI, 'public'), join(UI, 'index.html')];
const SHARED_SOURCES = [join(ROOT, 'src', 'permissions', 'permission-set.ts')];

/**
 * Builds the UI unless `ui/dist` is newer than every source file. Test files run in
 * parallel, so one builds under a lock file while the others wait for it.
 */
export async function ensureUiBuilt(): Promise<void> {
  if (isFresh()) return;
  await withLock(async () => {
    if (isFresh()) return;
    // The same command as `npm run build:ui`, outside Vitest, whose NODE_ENV of `test`
    // would otherwise give React's development build.
    const env = { ...process.env };
    delete env.NODE_ENV;
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    await run(process.execPath, [vite, 'build', UI, '--logLevel', 'warn'], env);
  });
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: ROOT, env }, (error, _stdout, stderr) => {
      if (error === null) resolve();
      else reject(new Error(`building the UI failed: ${stderr}`, { cause: error }));
    });
  });
}

function isFresh(): boolean {
  if (!existsSync(BUILT_PAGE)) return false;
  const built = statSync(BUILT_PAGE).mtimeMs;
  const newest = Math.max(
    ...[...UI_SOURCES, ...SHARED_SOURCES, join(UI, 'vite.config.ts')].map(newestMtime),
  );
  return built >= newest;
}

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(
    stat.mtimeMs,
    ...readdirSync(path).map((entry) => newestMtime(join(path, entry))),
  );
}

async function withLock(work: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 120_000;
  mkdirSync(join(BUILD_LOCK, '..'), { recursive: true });
  let fd: number | undefined;
  while (fd === undefined) {
    try {
      fd = openSync(BUILD_LOCK, 'wx');
    } catch {
      // A lock older than two minutes belongs to a run that died mid-build.
      if (existsSync(BUILD_LOCK) && Date.now() - statSync(BUILD_LOCK).mtimeMs > 120_000) {
        rmSync(BUILD_LOCK, { force: true });
      }
      if (Date.now() > deadline) throw new Error(`gave up waiting for ${BUILD_LOCK}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    await work();
  } finally {
    closeSync(fd);
    rmSync(BUILD_LOCK, { force: true });
  }
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The end-to-end tests drive Debian's Chromium at ${CHROMIUM}, which is missing. ` +
        'Install it with: apt-get install -y chromium',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface E2eServer extends RunningServer {
  dir: string;
}

/** A real server on a random port with a fresh SQLite database, seeded with one admin. */
export async function startE2eServer(): Promise<E2eServer> {
  const dir = mkdtempSync(join(tmpdir(), 'app-center-e2e-'));
  const server = await startServer(
    parseConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'e2e.db')}`,
      ADMIN_EMAIL,
      ADMIN_PASSWORD,
      LOG_LEVEL: 'silent',
    }),
  );
  return {
    ...server,
    dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const size = page.viewportSize();
  const suffix = size === null ? '' : `-${size.width}x${size.height}`;
  await page.screenshot({ path: join(SCREENSHOTS, `${name}${suffix}.png`), fullPage: false });
}

export async function logIn(page: Page, url: string, email: string, password: string) {
  await page.goto(`${url}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
}

/**
 * The management API with the page's session cookie and CSRF token, for setting up state
 * and checking what the UI did.
 */
export async function managementApi(request: APIRequestContext, url: string) {
  const me = await request.get(`${url}/auth/me`);
  if (!me.ok()) throw new Error(`not logged in: ${me.status()}`);
  const { csrfToken } = (await me.json()) as { csrfToken: string };
  const headers = { 'x-csrf-token': csrfToken };
  const check = async (response: Awaited<ReturnType<APIRequestContext['get']>>) => {
    if (!response.ok()) {
      throw new Error(`${response.url()}: ${response.status()} ${await response.text()}`);
    }
    return response.status() === 204 ? undefined : ((await response.json()) as unknown);
  };
  return {
    get: async <T>(path: string) => (await check(await request.get(`${url}${path}`))) as T,
    post: async <T>(path: string, data: unknown) =>
      (await check(await request.post(`${url}${path}`, { data, headers }))) as T,
  };
}

/** A call to the main API with an API Access Token, as an integration would make it. */
export async function callWithToken(url: string, path: string, token: string) {
  const response = await fetch(`${url}${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, body };
}

// Page-side expressions are strings: the test's TypeScript has Node's globals, not the DOM's.

export function clipboardText(page: Page): Promise<string> {
  return page.evaluate<string>('navigator.clipboard.readText()');
}

/** Whether the page scrolls sideways, the sign of a layout too wide for the screen. */
export function overflowsSideways(page: Page): Promise<boolean> {
  return page.evaluate<boolean>('document.documentElement.scrollWidth > window.innerWidth');
}

/** The text and outline style of the focused element ('none' when nothing is focused). */
export function focused(page: Page): Promise<{ text: string; outline: string }> {
  return page.evaluate<{ text: string; outline: string }>(`(() => {
    const element = document.activeElement;
    if (element === null || element === document.body) return { text: '', outline: 'none' };
    return { text: element.textContent ?? '', outline: getComputedStyle(element).outlineStyle };
  })()`);
}
