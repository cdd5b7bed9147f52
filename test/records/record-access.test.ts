import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allows, getModel } from '../../src/records/model-catalogue.js';
import { createAppWithToken } from '../helpers/private-apps.js';
import { MODEL_SAMPLES } from './model-samples.js';
import {
  allRecords,
  caller,
  only,
  recordsFixture,
  type Call,
  type Method,
  type RecordsFixture,
} from './record-helpers.js';

/**
 * The checks every record route shares: no token is 401, a missing permission is 403
 * naming it, and another workspace's record is 404 exactly like a missing one.
 */

interface RouteCase {
  name: string;
  method: Method;
  url: (key: string) => string;
  permission: string;
  body?: unknown;
  /** Whether the route addresses one record, so that tenancy is checked on it. */
  keyed: boolean;
}

let f: RecordsFixture;
let stranger: Call;
let nobody: Call;
const ours = new Map<string, string>();
const theirs = new Map<string, string>();

const MISSING = '0123456789abcdef01234567';

function routesOf(path: string, model: string): RouteCase[] {
  const definition = getModel(model as Parameters<typeof getModel>[0]);
  const sample = MODEL_SAMPLES.find((item) => item.model === model);
  const update = sample === undefined ? {} : { [sample.update.field]: sample.update.value };
  const cases: RouteCase[] = [];
  const add = (op: Parameters<typeof allows>[1], route: Omit<RouteCase, 'name'>) => {
    if (allows(definition, op))
      cases.push({ ...route, name: `${route.method} ${route.url(':key')}` });
  };
  add('list', { method: 'GET', url: () => `/${path}`, permission: `${model}.view`, keyed: false });
  add('create', {
    method: 'POST',
    url: () => `/${path}`,
    permission: `${model}.create`,
    body: sample?.create(MISSING, 'x') ?? {},
    keyed: false,
  });
  add('export', {
    method: 'GET',
    url: () => `/${path}/export`,
    permission: `${model}.export`,
    keyed: false,
  });
  add('read', {
    method: 'GET',
    url: (key) => `/${path}/${key}`,
    permission: `${model}.view`,
    keyed: true,
  });
  add('update', {
    method: 'PUT',
    url: (key) => `/${path}/${key}`,
    permission: `${model}.update`,
    body: update,
    keyed: true,
  });
  add('delete', {
    method: 'DELETE',
    url: (key) => `/${path}/${key}`,
    permission: `${model}.remove`,
    keyed: true,
  });
  if (definition.storage === 'records') {
    cases.push({
      name: `GET /${path}/:key/history`,
      method: 'GET',
      url: (key) => `/${path}/${key}/history`,
      permission: `${model}.view`,
      keyed: true,
    });
  }
  return cases;
}

const ROUTES: RouteCase[] = [
  ...MODEL_SAMPLES.flatMap((sample) => routesOf(sample.path, sample.model)),
  ...routesOf('tickets', 'Ticket'),
  ...routesOf('users', 'User'),
  {
    name: 'GET /leancompanies',
    method: 'GET',
    url: () => '/leancompanies',
    permission: 'Company.view',
    keyed: false,
  },
];

beforeAll(async () => {
  f = await recordsFixture();
  const other = await f.t.seedWorkspace('Other', 'admin@other.test');
  const otherAdmin = await f.t.login(other.admin.email);
  const otherApp = await createAppWithToken(f.t, otherAdmin, allRecords(), 'Theirs');
  stranger = caller(f.t, otherApp.token);
  nobody = await f.withToken(only({}), 'Nothing');
  ours.set('User', f.t.seed.admin.id);
  theirs.set('User', other.admin.id);

  for (const [call, ids] of [
    [f.api, ours],
    [stranger, theirs],
  ] as const) {
    const company = (await call('POST', '/companies', { name: 'Tenant' })).json()._id as string;
    for (const sample of MODEL_SAMPLES) {
      const created = await call('POST', `/${sample.path}`, sample.create(company, 'tenancy'));
      ids.set(sample.model, created.json()._id);
    }
    const ticket = await call('PUT', '/tickets', [
      { companyId: company, sourceId: 'zd-tenancy', email: 'a@b.test' },
    ]);
    ids.set('Ticket', ticket.json().upsertedIds[0]);
  }
});
afterAll(async () => {
  await f.t.close();
});

function modelOf(route: RouteCase): string {
  return route.permission.split('.')[0] ?? '';
}

describe.each(ROUTES.map((route) => [route.name, route] as const))('%s', (_name, route) => {
  it('refuses a request without a token with 401', async () => {
    const response = await f.t.app.inject({
      method: route.method,
      url: route.url(ours.get(modelOf(route)) ?? MISSING),
      ...(route.body === undefined ? {} : { payload: route.body as object }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('refuses a token without the permission with 403 naming it', async () => {
    const response = await nobody(
      route.method,
      route.url(ours.get(modelOf(route)) ?? MISSING),
      route.body,
    );
    expect(response.statusCode, response.body).toBe(403);
    expect(response.json()).toMatchObject({
      error: 'forbidden',
      permission: route.permission,
      message: `requires ${route.permission}`,
    });
  });

  it.runIf(route.keyed)(
    'answers another workspace’s record exactly like a missing one',
    async () => {
      const model = modelOf(route);
      const foreign = await f.api(route.method, route.url(theirs.get(model) ?? ''), route.body);
      const missing = await f.api(route.method, route.url(MISSING), route.body);
      expect(foreign.statusCode).toBe(404);
      expect(missing.statusCode).toBe(404);
      const strip = (body: string) => ({ ...JSON.parse(body), requestId: undefined });
      expect(strip(foreign.body)).toEqual(strip(missing.body));
      // Their record is still there, untouched.
      if (route.method !== 'GET' && model !== 'Ticket' && model !== 'User') {
        const path = route.url(theirs.get(model) ?? '').split('/')[1];
        const read = await stranger('GET', `/${path}/${theirs.get(model) ?? ''}`);
        expect(read.statusCode).toBe(200);
      }
    },
  );
});

describe('tenancy of lists and keys', () => {
  it('never lists, matches or resolves another workspace’s records', async () => {
    const list = (await f.api('GET', '/companies?limit=5000')).json();
    expect(list.map((company: { _id: string }) => company._id)).not.toContain(
      theirs.get('Company'),
    );
    await stranger('PUT', `/companies/${theirs.get('Company') ?? ''}`, { externalId: 'shared' });
    expect((await f.api('GET', '/companies/extid-shared')).statusCode).toBe(404);
    const upsert = await f.api('PUT', '/companies', [{ externalId: 'shared', name: 'Mine' }]);
    expect(upsert.json().created).toBe(1);
    const reference = await f.api('POST', '/endusers', {
      email: 'x@y.test',
      companyId: theirs.get('Company'),
    });
    expect(reference.statusCode).toBe(400);
    const users = (await f.api('GET', '/users')).json();
    expect(users.map((user: { _id: string }) => user._id)).toEqual([f.t.seed.admin.id]);
  });
});
