import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

interface Run {
  code: number;
  out: string[];
  err: string[];
}

describe('the app-center command line', () => {
  let testDb: TestDatabase;
  let saved: NodeJS.ProcessEnv;
  beforeEach(async () => {
    saved = { ...process.env };
    testDb = await createTestDatabase();
    const target = testDb.target;
    process.env.DATABASE_URL = target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
  });
  afterEach(async () => {
    process.env = saved;
    await testDb.drop();
  });

  async function run(...argv: string[]): Promise<Run> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  }

  function json<T>(result: Run): T {
    expect(result.code, result.err.join('\n')).toBe(0);
    return JSON.parse(result.out.join('')) as T;
  }

  it('initialises a workspace and prints its generated password once, as JSON', async () => {
    const init = json<{
      workspace: { id: string; name: string; tenantToken: string };
      admin: { id: string; email: string; password: string };
    }>(await run('init', '--workspace', 'Acme', '--email', 'ops@acme.test', '--json'));
    expect(init.workspace.name).toBe('Acme');
    expect(init.workspace.tenantToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(init.admin.password).toMatch(/^[A-Za-z0-9_-]{20}$/);

    const given = json<{ admin: { password?: string } }>(
      await run(
        'init',
        '--workspace',
        'B',
        '--email',
        'b@b.test',
        '--password',
        'twelve chars!',
        '--json',
      ),
    );
    expect(given.admin.password).toBeUndefined();
  });

  it('creates apps and tokens, and deletes them, as the system actor', async () => {
    const { workspace } = json<{ workspace: { id: string } }>(
      await run('init', '--workspace', 'Acme', '--email', 'ops@acme.test', '--json'),
    );
    const app = json<{ id: string; permissions: { models: Record<string, { view: boolean }> } }>(
      await run(
        'apps',
        'create',
        '--workspace',
        workspace.id,
        '--name',
        'Sync',
        '--copy-from',
        'role:CSM',
        '--allow',
        'Company:remove,EndUser:export',
        '--json',
      ),
    );
    expect(app.permissions.models.Company).toMatchObject({ view: true, remove: true });

    const token = json<{ token: string; id: string; hint: string }>(
      await run(
        'tokens',
        'create',
        '--workspace',
        workspace.id,
        '--app',
        app.id,
        '--expires-in',
        '30d',
        '--json',
      ),
    );
    expect(token.token.startsWith('apc_')).toBe(true);
    expect(token.hint.endsWith(token.token.slice(-4))).toBe(true);

    const listed = await run('tokens', 'list', '--workspace', workspace.id, '--app', app.id);
    expect(listed.out.join('\n')).toContain(token.id);
    expect(listed.out.join('\n')).not.toContain(token.token);

    expect((await run('apps', 'disable', '--workspace', workspace.id, '--app', app.id)).code).toBe(
      0,
    );
    const apps = json<Array<{ enabled: boolean }>>(
      await run('apps', 'list', '--workspace', workspace.id, '--json'),
    );
    expect(apps[0]?.enabled).toBe(false);

    const rotated = json<{ token: string; retiresAt: string }>(
      await run(
        'tokens',
        'rotate',
        '--workspace',
        workspace.id,
        '--app',
        app.id,
        '--token',
        token.id,
        '--grace',
        '1h',
        '--json',
      ),
    );
    expect(rotated.token).not.toBe(token.token);
    expect(
      (
        await run(
          'tokens',
          'delete',
          '--workspace',
          workspace.id,
          '--app',
          app.id,
          '--token',
          token.id,
        )
      ).code,
    ).toBe(0);
    expect((await run('apps', 'delete', '--workspace', workspace.id, '--app', app.id)).code).toBe(
      0,
    );

    const audit = await testDb.database.db
      .selectFrom('audit_events')
      .select(['action', 'actor_type'])
      .where('target_type', '=', 'ServiceAccount')
      .execute();
    expect(audit.length).toBeGreaterThanOrEqual(6);
    expect(new Set(audit.map((a) => a.actor_type))).toEqual(new Set(['system']));
  });

  it('explains bad input with exit code 2', async () => {
    expect((await run('frobnicate')).code).toBe(2);
    const missing = await run('init', '--workspace', 'A');
    expect(missing.code).toBe(2);
    expect(missing.err.join('')).toContain('--email is required');
    const badAllow = await run('apps', 'create', '--workspace', 'nope', '--name', 'x');
    expect(badAllow.code).toBe(2);
    expect(badAllow.err.join('')).toContain('no workspace nope');
  });

  it('stops on a bad environment value, naming the variable', async () => {
    process.env.PORT = 'eighty';
    const result = await run('migrate');
    expect(result.code).toBe(2);
    expect(result.err.join('')).toContain('PORT must be an integer');
  });

  it('migrates and reports a database it cannot reach', async () => {
    expect((await run('migrate')).out.join('')).toBe('Up to date');
    const dir = mkdtempSync(join(tmpdir(), 'app-center-cli-'));
    process.env.DATABASE_URL = `sqlite:${join(dir, 'fresh.db')}`;
    expect((await run('migrate')).out.join('')).toMatch(/^Applied 0001-foundation/);
    process.env.DATABASE_URL = 'postgres://nobody@127.0.0.1:1/none';
    const unreachable = await run('migrate');
    expect(unreachable.code).toBe(1);
    expect(unreachable.err.join('')).toMatch(/^app-center: /);
  });
});
