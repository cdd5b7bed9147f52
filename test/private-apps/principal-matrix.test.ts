import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclaredRoute } from '../../src/auth/authentication.plugin.js';
import { generateToken } from '../../src/tokens/token-format.js';
import { bearer, createAppWithToken, type CreatedApp } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const ALL = { create: true, view: true, update: true, remove: true, export: true };
const NONE = { create: false, view: false, update: false, remove: false, export: false };

type Credential =
  { kind: 'none' } | { kind: 'token'; token: string } | { kind: 'session'; session: Session };

interface Principal {
  name: string;
  credential: () => Credential;
  /** The statuses this principal may get on a management route of the target app. */
  expect: (route: DeclaredRoute) => number[] | 'allowed';
  code?: string;
}

/**
 * Every management route of private apps, called by every kind of principal: the
 * credential must be refused, forbidden or accepted exactly as the permission rules say.
 */
describe('management routes by principal', () => {
  let t: TestApp;
  let admin: Session;
  let csm: Session;
  let outsider: Session;
  let target: CreatedApp;
  let manager: CreatedApp;
  let weakling: CreatedApp;
  const revoked: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp();
    admin = await t.login();
    const roles = (await t.as(admin, { method: 'GET', url: '/manage/roles' })).json();
    const csmRole = roles.find((r: { name: string }) => r.name === 'CSM').id;
    await t.as(admin, {
      method: 'POST',
      url: '/manage/members',
      payload: { email: 'csm@acme.test', password: 'a long enough password', roleIds: [csmRole] },
    });
    csm = await t.login('csm@acme.test', 'a long enough password');
    const other = await t.seedWorkspace('Other', 'admin@other.test');
    outsider = await t.login(other.admin.email);

    target = await createAppWithToken(t, admin, { models: { Company: ALL }, fields: {} }, 'Target');
    manager = await createAppWithToken(
      t,
      admin,
      { models: { ServiceAccount: ALL, Company: ALL, Role: { ...NONE, view: true } }, fields: {} },
      'Manager',
    );
    weakling = await createAppWithToken(t, admin, { models: { Company: ALL }, fields: {} }, 'Weak');

    const deleted = await createAppWithToken(t, admin, { models: {}, fields: {} }, 'Deleted');
    await t.as(admin, {
      method: 'DELETE',
      url: `/manage/private-apps/${deleted.id}/tokens/${deleted.tokenId}`,
    });
    revoked.token_revoked = deleted.token;
    const disabled = await createAppWithToken(t, admin, { models: {}, fields: {} }, 'Disabled');
    await t.as(admin, {
      method: 'PATCH',
      url: `/manage/private-apps/${disabled.id}`,
      payload: { enabled: false },
    });
    revoked.app_disabled = disabled.token;
    const rotated = await createAppWithToken(t, admin, { models: {}, fields: {} }, 'Rotated');
    await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${rotated.id}/tokens/${rotated.tokenId}/rotate`,
      payload: { graceSeconds: 0 },
    });
    revoked.token_rotated = rotated.token;
    const expiring = await t.as(admin, {
      method: 'POST',
      url: `/manage/private-apps/${rotated.id}/tokens`,
      payload: { expiresAt: new Date(Date.now() + 500).toISOString() },
    });
    revoked.token_expired = expiring.json().token;
    await new Promise((resolve) => setTimeout(resolve, 600));
  });
  afterAll(async () => {
    await t.close();
  });

  const principals: Principal[] = [
    { name: 'no credential', credential: () => ({ kind: 'none' }), expect: () => [401] },
    {
      name: 'malformed token',
      credential: () => ({ kind: 'token', token: 'apc_nope' }),
      expect: () => [401],
      code: 'token_malformed',
    },
    {
      name: 'unknown token',
      credential: () => ({ kind: 'token', token: generateToken() }),
      expect: () => [401],
      code: 'token_invalid',
    },
    ...['token_revoked', 'app_disabled', 'token_rotated', 'token_expired'].map((code) => ({
      name: code,
      credential: (): Credential => ({ kind: 'token', token: revoked[code] ?? '' }),
      expect: () => [401],
      code,
    })),
    {
      name: 'member without ServiceAccount',
      credential: () => ({ kind: 'session', session: csm }),
      expect: () => [403],
      code: 'forbidden',
    },
    {
      name: 'app without ServiceAccount',
      credential: () => ({ kind: 'token', token: weakling.token }),
      expect: () => [403],
      code: 'forbidden',
    },
    {
      name: 'another workspace’s administrator',
      credential: () => ({ kind: 'session', session: outsider }),
      expect: (route) => (route.url.includes(':id') ? [404] : 'allowed'),
    },
    {
      name: 'administrator',
      credential: () => ({ kind: 'session', session: admin }),
      expect: () => 'allowed',
    },
    {
      name: 'app with ServiceAccount',
      credential: () => ({ kind: 'token', token: manager.token }),
      expect: () => 'allowed',
    },
  ];

  function routes(): DeclaredRoute[] {
    return t.app.declaredRoutes.filter(
      (route) =>
        route.url.startsWith('/manage/private-apps') &&
        route.method !== 'HEAD' &&
        // Deleting the target would end the matrix early; it is covered on its own.
        !(route.method === 'DELETE' && route.url === '/manage/private-apps/:id'),
    );
  }

  async function call(route: DeclaredRoute, credential: Credential) {
    const url = route.url
      .replace(':id', target.id)
      .replace(':tokenId', '000000000000000000000000')
      .replace(':logId', '1');
    const payload =
      route.method === 'GET' || route.method === 'DELETE'
        ? undefined
        : route.url.endsWith('/rotate')
          ? { graceSeconds: 60 }
          : route.url === '/manage/private-apps'
            ? { name: 'Matrix' }
            : route.method === 'PATCH'
              ? { description: 'matrix' }
              : {};
    const options = { method: route.method as 'GET', url, ...(payload ? { payload } : {}) };
    if (credential.kind === 'session') return t.as(credential.session, options);
    if (credential.kind === 'token') {
      return t.app.inject({ ...options, headers: bearer(credential.token) });
    }
    return t.app.inject(options);
  }

  it('covers every management route of private apps', () => {
    expect(routes().length).toBeGreaterThanOrEqual(9);
  });

  for (const principal of principals) {
    it(`answers ${principal.name} as the rules say on every route`, async () => {
      for (const route of routes()) {
        const response = await call(route, principal.credential());
        const expected = principal.expect(route);
        const label = `${principal.name}: ${route.method} ${route.url} → ${response.body}`;
        if (expected === 'allowed') {
          expect([401, 403], label).not.toContain(response.statusCode);
          expect(response.statusCode, label).toBeLessThan(500);
        } else {
          expect(expected, label).toContain(response.statusCode);
          if (principal.code !== undefined)
            expect(response.json().error, label).toBe(principal.code);
        }
      }
    });
  }
});
