import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../helpers/private-apps.js';
import { MODEL_SAMPLES } from './model-samples.js';
import { recordsFixture, type RecordsFixture } from './record-helpers.js';

/** No body, however malformed, makes a record route fail with a 5xx. */

let f: RecordsFixture;
let companyId: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  f = await recordsFixture();
  companyId = (await f.api('POST', '/companies', { name: 'Fuzz', domains: ['fuzz.test'] })).json()
    ._id;
  for (const sample of MODEL_SAMPLES) {
    keys[sample.path] = (
      await f.api('POST', `/${sample.path}`, sample.create(companyId, 'fuzz'))
    ).json()._id;
  }
});
afterAll(async () => {
  await f.t.close();
});

const fieldNames = fc.oneof(
  fc.constantFrom(
    'name',
    'email',
    'companyId',
    'cId',
    'companyIds',
    'externalId',
    'sourceId',
    '_id',
    'custom',
    'domains',
    'tags',
    'fromDate',
    'date',
    'score',
    'value',
    'mrr',
    'type',
    'parent',
    'status',
    'constructor',
    'prototype',
    'createdAt',
  ),
  fc.string({ maxLength: 12 }),
);
const scalar = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    'extid-fuzz',
    'srcid-fuzz',
    'extid-',
    '2024-02-30',
    'a@b.c',
    '5e298986569b369503683cf6',
  ),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fieldNames, tie('value'), { maxKeys: 4 }),
  ),
})).value;
const body = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fieldNames, json, { maxKeys: 8 }) },
  { weight: 1, arbitrary: json },
);

const paths = MODEL_SAMPLES.map((sample) => sample.path);

describe('malformed bodies', () => {
  it('never answer 5xx on create, update or bulk upsert', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.constantFrom('POST', 'PUT key', 'PUT bulk'),
        body,
        async (path, kind, payload) => {
          const url = kind === 'PUT key' ? `/${path}/${keys[path] ?? ''}` : `/${path}`;
          const sent = kind === 'PUT bulk' ? [payload, payload] : payload;
          const response = await f.t.app.inject({
            method: kind === 'POST' ? 'POST' : 'PUT',
            url,
            headers: { ...bearer(f.token), 'content-type': 'application/json' },
            payload: JSON.stringify(sent),
          });
          expect(response.statusCode, `${kind} ${url} ${JSON.stringify(sent)}`).toBeLessThan(500);
          // Client-visible failures are the documented ones.
          expect([200, 206, 400, 404]).toContain(response.statusCode);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('never answer 5xx for odd keys and query strings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        fc.string({ maxLength: 40 }),
        fc.dictionary(
          fc.constantFrom('limit', 'offset', 'sort', 'select', 'companyId', 'email', 'status'),
          fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('-1', '1e3', '-custom.$x')),
          { maxKeys: 4 },
        ),
        async (path, key, query) => {
          const search = new URLSearchParams(query).toString();
          for (const url of [
            `/${path}/${encodeURIComponent(key)}`,
            `/${path}?${search}`,
            `/${path}/export?${search}`,
          ]) {
            const response = await f.api('GET', url);
            expect(response.statusCode, url).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('refuses JSON that is not valid, or reaches the prototype, with 400', async () => {
    for (const payload of ['{', '{"name": "x",}', '{"__proto__": {"admin": true}, "name": "x"}']) {
      const response = await f.t.app.inject({
        method: 'POST',
        url: '/companies',
        headers: { ...bearer(f.token), 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode, payload).toBe(400);
    }
    const deep = await f.api('POST', '/companies', {
      name: 'Deep',
      shareable: JSON.parse(`${'{"a":'.repeat(50)}1${'}'.repeat(50)}`),
    });
    expect(deep.statusCode).toBe(400);
  });
});
