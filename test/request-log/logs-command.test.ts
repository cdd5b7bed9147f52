import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runLogsCommand } from '../../src/cli/logs-command.js';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';
import { logEntry, seedRows } from './log-helpers.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

describe('app-center logs', () => {
  let t: TestApp;
  let admin: Session;
  let app: CreatedApp;

  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    app = await createAppWithToken(t, admin, { models: {}, fields: {} });
  });
  afterEach(async () => {
    await t.close();
  });

  const call = (url: string) => t.app.inject({ method: 'GET', url, headers: bearer(app.token) });
  const run = (args: string[], io: ReturnType<typeof capture>['io'], signal?: AbortSignal) =>
    runLogsCommand(args, t.testDb.database, io, { ...(signal ? { signal } : {}), pollMs: 20 });

  it('prints an app’s requests newest first, as text or JSON lines', async () => {
    await call('/myprofile?n=1');
    await call('/manage/private-apps');
    await t.app.requestLog.flush();

    const text = capture();
    expect(await run(['--app', app.id], text.io)).toBe(0);
    expect(text.out).toHaveLength(2);
    expect(text.out[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\S+Z {2}403 {2}GET {4} +[\d.]+ ms {2}apc_…\w{4} {2}\/manage\/private-apps {2}forbidden: requires ServiceAccount\.view$/,
    );
    expect(text.out[1]).toContain('200  GET');
    expect(text.out[1]).toContain('/myprofile?n=1');

    const json = capture();
    await run(['--app', app.id, '--json', '--status', '2xx'], json.io);
    expect(json.out.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ status: 200, path: '/myprofile?n=1', tokenId: app.tokenId }),
    ]);
    expect(JSON.parse(json.out[0] ?? '{}')).not.toHaveProperty('seq');
  });

  it('filters by --since and --status', async () => {
    const scope = { workspaceId: t.seed.workspace.id, appId: app.id, tokenId: app.tokenId };
    await seedRows(t, [
      logEntry(scope, { at: Date.now() - 3 * 3_600_000, path: '/old' }),
      logEntry(scope, { at: Date.now() - 60_000, path: '/recent', status: 404 }),
      logEntry(scope, { at: Date.now() - 30_000, path: '/fine' }),
    ]);
    const paths = async (args: string[]) => {
      const io = capture();
      await run(['--app', app.id, '--json', ...args], io.io);
      return io.out.map((line) => JSON.parse(line).path);
    };
    expect(await paths([])).toEqual(['/fine', '/recent', '/old']);
    expect(await paths(['--since', '2h'])).toEqual(['/fine', '/recent']);
    expect(await paths(['--status', '404'])).toEqual(['/recent']);
    expect(await paths(['--status', '4xx', '--since', '5m'])).toEqual(['/recent']);
    expect(await paths(['--limit', '1'])).toEqual(['/fine']);
  });

  it('follows new rows as they are written until stopped', async () => {
    await call('/myprofile?n=1');
    await t.app.requestLog.flush();

    const io = capture();
    const controller = new AbortController();
    const following = run(['--app', app.id, '--follow', '--json'], io.io, controller.signal);
    for (let n = 2; n <= 4; n += 1) {
      await call(`/myprofile?n=${n}`);
      await t.app.requestLog.flush();
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    const deadline = Date.now() + 5_000;
    while (io.out.length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    expect(await following).toBe(0);
    expect(io.out.map((line) => JSON.parse(line).path)).toEqual([
      '/myprofile?n=1',
      '/myprofile?n=2',
      '/myprofile?n=3',
      '/myprofile?n=4',
    ]);
  });

  it('refuses bad options and unknown apps', async () => {
    const io = capture();
    await expect(run([], io.io)).rejects.toThrow('--app is required');
    await expect(run(['--app', app.id, '--since', 'soon'], io.io)).rejects.toThrow('--since');
    await expect(run(['--app', app.id, '--status', '2x'], io.io)).rejects.toThrow('--status');
    await expect(run(['--app', '000000000000000000000000'], io.io)).rejects.toThrow(
      'private app not found',
    );
  });
});
