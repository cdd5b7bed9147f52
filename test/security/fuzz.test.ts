import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeclaredRoute } from '../../src/auth/authentication.plugin.js';
import { fullPermissions } from '../../src/permissions/permission-set.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 10_000);
const LEAKS =
  /\bat [\w.<>]+ \(|node_modules|\bselect\b.+\bfrom\b|sqlite|syntax error|relation ".+"/i;

/** Bodies that have broken servers: deep nesting, wide arrays, prototype keys, odd values. */
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constant('{"a":'.repeat(2000) + '1' + '}'.repeat(2000)),
  fc.constant(JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => i) })),
  fc.constant('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}'),
  fc.constant('[{"__proto__":{"polluted":1}}]'),
  fc.string({ maxLength: 300 }),
  fc.constant('{"name":"\\ud800"}'),
  fc.constant('{"email": 1e999, "limit": -0, "offset": "NaN"}'),
);

const hostileSegment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', '%00', 'extid-', 'srcid-%ff', '🙂', 'a'.repeat(600), '$where'),
  fc.stringMatching(/^[0-9a-f]{24}$/),
);

const contentTypes = fc.constantFrom(
  'application/json',
  'application/json; charset=latin1',
  'application/json\ta',
  'APPLICATION/JSON',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
);

describe('fuzzing every route group', () => {
  let t: TestApp;
  let session: Session;
  let token: string;
  let routes: DeclaredRoute[];
  beforeAll(async () => {
    t = await createTestApp({ logLevel: 'warn' });
    session = await t.login();
    token = (await createAppWithToken(t, session, fullPermissions(), 'Fuzz')).token;
    routes = t.app.declaredRoutes.filter(
      (route) =>
        route.method !== 'HEAD' &&
        route.operation !== 'docs' &&
        // Logging out would end the session the rest of the run uses.
        route.operation !== 'auth.logout',
    );
  });
  afterAll(async () => {
    await t.close();
  });

  it(
    `answers ${REQUESTS} mutated requests with no 5xx and a clean envelope`,
    { timeout: 300_000 },
    async () => {
      let sent = 0;
      const failures: string[] = [];
      await fc.assert(
        fc.asyncProperty(
          fc.nat(),
          fc.array(hostileSegment, { minLength: 3, maxLength: 3 }),
          hostileJson,
          contentTypes,
          fc.constantFrom('session', 'token', 'tenant', 'none'),
          fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })), {
            maxLength: 4,
          }),
          fc.boolean(),
          async (pick, segments, body, contentType, principal, query, invalidUtf8) => {
            const route = routes[pick % routes.length];
            if (route === undefined) return;
            let index = 0;
            const path = route.url.replace(/:[A-Za-z]+/g, (param) =>
              param === ':tenantToken' && principal === 'tenant'
                ? t.seed.workspace.tenantToken
                : encodeURIComponent(segments[index++ % segments.length] ?? ''),
            );
            // Duplicated and odd query parameters, as sloppy clients send them.
            const search = query
              .flatMap(([key, value]) => [
                `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
                `${encodeURIComponent(key)}=x`,
              ])
              .join('&');
            const url = search === '' ? path : `${path}?${search}`;
            const headers: Record<string, string> = {};
            if (contentType !== '') headers['content-type'] = contentType;
            if (principal === 'token') Object.assign(headers, bearer(token));
            if (principal === 'session') {
              headers.cookie = session.cookie;
              headers['x-csrf-token'] = session.csrfToken;
            }
            const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
            const payload = !hasBody
              ? undefined
              : invalidUtf8
                ? Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0x22, 0x7d])
                : typeof body === 'string'
                  ? body
                  : JSON.stringify(body);

            const response = await t.app.inject({
              method: route.method as 'GET',
              url,
              headers,
              ...(payload === undefined ? {} : { payload }),
            });
            sent += 1;
            const label = `${route.method} ${route.url} → ${response.statusCode} ${response.body.slice(0, 200)}`;
            if (response.statusCode >= 500) failures.push(label);
            if (response.statusCode >= 400) {
              const isJson = String(response.headers['content-type']).startsWith(
                'application/json',
              );
              if (!isJson) failures.push(`not JSON: ${label}`);
              else {
                const envelope = response.json() as Record<string, unknown>;
                // A bulk upsert whose items all failed answers 400 with Planhat's upsert
                // report, which names each item's error, rather than the envelope.
                const isUpsertReport =
                  route.method === 'PUT' && Array.isArray(envelope.createdErrors);
                const hasEnvelope =
                  typeof envelope.error === 'string' && typeof envelope.message === 'string';
                if (!isUpsertReport && !hasEnvelope) failures.push(`no envelope: ${label}`);
              }
            }
            if (response.statusCode >= 400 && LEAKS.test(response.body))
              failures.push(`leak: ${label}`);
          },
        ),
        { numRuns: REQUESTS, seed: 20261203 },
      );
      expect(failures.slice(0, 20)).toEqual([]);
      expect(sent).toBe(REQUESTS);
      // The process is still healthy after all of it.
      expect((await t.app.inject({ url: '/readyz' })).statusCode).toBe(200);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    },
  );
});
