import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { MODEL_DEFINITIONS } from '../../src/records/model-catalogue.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { minimalBodies } from '../helpers/record-fixtures.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 25);
const SECRET_KEY = /hash|secret|token|password/i;

/**
 * Keys that look secret but are meant for the caller: each names a response that shows
 * it by design (a token hint, a CSRF token for the session's own use).
 */
const ALLOWED_KEYS = new Set(['csrfToken']);

/** Every key anywhere in a JSON value. */
function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) keysOf(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      out.push(key);
      keysOf(inner, out);
    }
  }
  return out;
}

const injected = fc.record({
  _id: fc.constantFrom('000000000000000000000001', 'ffffffffffffffffffffffff', 'x'),
  createdAt: fc.constantFrom('1999-01-01T00:00:00.000Z', 'yesterday', 0),
  updatedAt: fc.constantFrom('1999-01-01T00:00:00.000Z', 42),
  __v: fc.integer(),
  createdBy: fc.constantFrom({ type: 'member', id: 'evil', name: 'Evil' }, 'evil'),
  updatedBy: fc.constantFrom({ type: 'member', id: 'evil', name: 'Evil' }),
  workspaceId: fc.constant('another-workspace'),
  extra: fc.jsonValue({ maxDepth: 2 }),
});

describe('protected fields and secret-looking keys', () => {
  let t: TestApp;
  let token: string;
  let companyId: string;
  const responses: Array<{ route: string; body: unknown }> = [];
  const call = async (method: 'POST' | 'PUT' | 'GET', url: string, payload?: unknown) => {
    const response = await t.app.inject({
      method,
      url,
      headers: bearer(token),
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    const body = response.body === '' ? undefined : (response.json() as unknown);
    responses.push({ route: `${method} ${url}`, body });
    return { status: response.statusCode, body: body as Record<string, unknown> };
  };

  beforeAll(async () => {
    t = await createTestApp({ logLevel: 'warn' });
    const session = await t.login();
    const app = await createAppWithToken(t, session, fullPermissions(), 'Prober');
    await t.as(session, {
      method: 'PATCH',
      url: `/manage/private-apps/${app.id}`,
      payload: { rateLimitPerSecond: 10_000 },
    });
    token = app.token;
    companyId = String((await call('POST', '/companies', { name: 'Parent' })).body._id);
  });
  afterAll(async () => {
    await t.close();
  });

  let serial = 0;
  const writable = MODEL_DEFINITIONS.filter((model) => model.operations.includes('create'));

  for (const model of writable) {
    it(`never lets a body set ${model.path}' protected fields`, async () => {
      const protectedFields = new Set([...model.computed, 'workspaceId']);
      await fc.assert(
        fc.asyncProperty(injected, async (extra) => {
          serial += 1;
          const base = minimalBodies(companyId, `p${serial}`)[model.path] as Record<
            string,
            unknown
          >;
          const created = await call('POST', `/${model.path}`, { ...base, ...extra });
          expect(created.status, JSON.stringify(created.body)).toBe(200);
          const record = created.body;
          expect(record._id).toMatch(/^[0-9a-f]{24}$/);
          expect(record._id).not.toBe(extra._id);
          expect(record.createdAt).not.toBe(extra.createdAt);
          expect(JSON.stringify(record.createdBy ?? '')).not.toContain('evil');
          expect(record.workspaceId).not.toBe('another-workspace');

          const updated = await call('PUT', `/${model.path}/${String(record._id)}`, extra);
          expect(updated.status).toBeLessThan(500);
          const after = (await call('GET', `/${model.path}/${String(record._id)}`)).body;
          for (const field of protectedFields) {
            if (field === 'updatedAt' || field === '__v' || field === 'updatedBy') continue;
            expect(after[field], `${model.path}.${field}`).toEqual(record[field]);
          }
          expect(JSON.stringify(after.updatedBy ?? '')).not.toContain('evil');
        }),
        { numRuns: RUNS, seed: 7 },
      );
    });
  }

  it('returns no secret-looking key in any of those responses', () => {
    expect(responses.length).toBeGreaterThan(writable.length * RUNS);
    for (const { route, body } of responses) {
      const keys = keysOf(body).filter((key) => SECRET_KEY.test(key) && !ALLOWED_KEYS.has(key));
      expect(keys, route).toEqual([]);
    }
  });
});
