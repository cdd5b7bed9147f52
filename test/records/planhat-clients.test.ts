import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsFixture, type RecordsFixture } from './record-helpers.js';

/**
 * The requests public Planhat clients send, and the parts of the answers they read:
 * lists parsed as bare arrays and paged until a short page, extid-/srcid- paths, the
 * ten keys of the upsert report, and the MongoDB-style delete answer.
 */

let f: RecordsFixture;

beforeAll(async () => {
  f = await recordsFixture();
});
afterAll(async () => {
  await f.t.close();
});

const UPSERT_KEYS = [
  'created',
  'createdErrors',
  'insertsKeys',
  'updated',
  'updatedErrors',
  'updatesKeys',
  'nonupdates',
  'modified',
  'upsertedIds',
  'permissionErrors',
];

describe('Python client (robocorp) shapes', () => {
  it('creates, reads by extid-, bulk-upserts, lists and deletes companies', async () => {
    const created = await f.api('POST', '/companies', { name: 'Test company', externalId: '1a' });
    expect(created.statusCode).toBe(200);
    const byExternal = await f.api('GET', '/companies/extid-1a');
    expect(byExternal.json()).toMatchObject({ _id: created.json()._id, name: 'Test company' });

    const bulk = await f.api('PUT', '/companies', [
      { name: 'Test company 2', externalId: 'test-002' },
      { name: 'Test company 3', externalId: 'test-003' },
    ]);
    expect(bulk.statusCode).toBe(200);
    expect(Object.keys(bulk.json())).toEqual(UPSERT_KEYS);
    expect(bulk.json().insertsKeys).toEqual([
      { _id: bulk.json().upsertedIds[0], externalId: 'test-002' },
      { _id: bulk.json().upsertedIds[1], externalId: 'test-003' },
    ]);

    const page = await f.api('GET', '/companies?limit=5000&offset=0');
    expect(Array.isArray(page.json())).toBe(true);
    expect(page.json()).toHaveLength(3);

    const removed = await f.api('DELETE', `/companies/${created.json()._id}`);
    expect(removed.body).toBe('{"n":1,"ok":1,"deletedCount":1}');
  });

  it('fetches companies by a comma list of ids, as batched lookups do', async () => {
    const ids = (await f.api('GET', '/companies?select=_id&limit=2')).json();
    const list = ids.map((item: { _id: string }) => item._id).join(',');
    const found = await f.api('GET', `/companies?companyId=${list}&select=name`);
    expect(found.json()).toHaveLength(2);
  });
});

describe('Go client shapes', () => {
  it('pages with limit, offset and sort, and reads by srcid-', async () => {
    await f.api('PUT', '/companies', [
      { name: 'Alpha', sourceId: '0012000001UchdsAAB', externalId: 'alpha' },
      { name: 'Beta', sourceId: 'beta-src' },
    ]);
    const sorted = (await f.api('GET', '/companies?limit=2&offset=0&sort=-name')).json();
    expect(sorted.map((company: { name: string }) => company.name)).toEqual([
      'Test company 3',
      'Test company 2',
    ]);
    const bySource = await f.api('GET', '/companies/srcid-0012000001UchdsAAB');
    expect(bySource.json().name).toBe('Alpha');
  });

  it('reads the lean list with its filters', async () => {
    const lean = (await f.api('GET', '/leancompanies?externalId=alpha')).json();
    expect(lean).toEqual([
      {
        _id: expect.any(String),
        name: 'Alpha',
        externalId: 'alpha',
        sourceId: '0012000001UchdsAAB',
      },
    ]);
    const bySource = (await f.api('GET', '/leancompanies?sourceId=beta-src')).json();
    expect(bySource.map((company: { name: string }) => company.name)).toEqual(['Beta']);
    const byStatus = (await f.api('GET', '/leancompanies?status=prospect,customer')).json();
    expect(byStatus.length).toBeGreaterThanOrEqual(4);
  });

  it('updates by extid- with a partial body', async () => {
    const updated = await f.api('PUT', '/companies/extid-alpha', { phase: 'Onboarding' });
    expect(updated.json()).toMatchObject({ name: 'Alpha', phase: 'Onboarding' });
  });
});

describe('Node connector (hull) shapes', () => {
  it('finds end users by email and edits them', async () => {
    const company = (
      await f.api('POST', '/companies', { name: 'Hull Co', domains: ['hull.test'] })
    ).json();
    const created = await f.api('POST', '/endusers', {
      email: 'romain@hull.test',
      firstName: 'Romain',
      lastName: 'Dardour',
      externalId: 'hull-1',
    });
    expect(created.json()).toMatchObject({ companyId: company._id, name: 'Romain Dardour' });

    const found = await f.api('GET', '/endusers?email=romain@hull.test');
    expect(found.json()).toEqual([created.json()]);
    const edited = await f.api('PUT', `/endusers/${created.json()._id}`, { position: 'CTO' });
    expect(edited.json().position).toBe('CTO');
    const removed = await f.api('DELETE', `/endusers/${created.json()._id}`);
    expect(removed.json()).toEqual({ n: 1, ok: 1, deletedCount: 1 });
  });

  it('lists users and reads one, the team members only', async () => {
    const users = await f.api('GET', '/users');
    expect(users.json()).toEqual([
      expect.objectContaining({ email: 'admin@acme.test', _id: f.t.seed.admin.id }),
    ]);
    const one = await f.api('GET', `/users/${f.t.seed.admin.id}`);
    expect(one.json()).toMatchObject({ email: 'admin@acme.test', nickName: expect.any(String) });
    const byEmail = await f.api('GET', '/users?email=admin@acme.test');
    expect(byEmail.json()).toHaveLength(1);
  });
});

describe('MCP and integration shapes', () => {
  it('keeps notes as conversations of type note; /notes does not exist', async () => {
    const company = (await f.api('POST', '/companies', { name: 'Notes Co' })).json();
    const note = await f.api('POST', '/conversations', {
      companyId: company._id,
      type: 'note',
      subject: 'Kick-off',
      description: '<p>Went well</p>',
    });
    expect(note.statusCode).toBe(200);
    const notes = await f.api('GET', `/conversations?type=note&companyId=${company._id}`);
    expect(notes.json().map((item: { subject: string }) => item.subject)).toEqual(['Kick-off']);
    expect((await f.api('GET', '/notes')).statusCode).toBe(404);
  });

  it('accepts Basic authentication with the token as user name, as checks do', async () => {
    const basic = Buffer.from(`${f.token}:`).toString('base64');
    const check = await f.t.app.inject({
      method: 'GET',
      url: '/endusers?limit=1',
      headers: { authorization: `Basic ${basic}` },
    });
    expect(check.statusCode).toBe(200);
    expect(Array.isArray(check.json())).toBe(true);
    const refused = await f.t.app.inject({ method: 'GET', url: '/companies?limit=1' });
    expect(refused.statusCode).toBe(401);
  });

  it('pages until a short page, as Airbyte does, without repeats', async () => {
    const items = Array.from({ length: 45 }, (_, i) => ({
      name: `Page ${i}`,
      externalId: `pg-${i}`,
    }));
    await f.api('PUT', '/companies', items);
    const seen: string[] = [];
    for (let offset = 0; ; offset += 10) {
      const page = (await f.api('GET', `/companies?limit=10&offset=${offset}`)).json();
      seen.push(...page.map((company: { _id: string }) => company._id));
      if (page.length < 10) break;
    }
    expect(new Set(seen).size).toBe(seen.length);
    const total = (await f.api('GET', '/companies?limit=5000')).json();
    expect(seen).toEqual(total.map((company: { _id: string }) => company._id));
  });

  it('merges chunked upsert reports by summing counts and joining lists', async () => {
    const chunks = [
      [{ name: 'C1', externalId: 'chunk-1' }],
      [
        { name: 'C2', externalId: 'chunk-2' },
        { externalId: 'chunk-1', phase: 'x' },
      ],
    ];
    const merged: Record<string, number | unknown[]> = {};
    for (const chunk of chunks) {
      const report = (await f.api('PUT', '/companies', chunk)).json();
      for (const [key, value] of Object.entries(report)) {
        const known = merged[key];
        if (typeof value === 'number')
          merged[key] = (typeof known === 'number' ? known : 0) + value;
        else merged[key] = [...(Array.isArray(known) ? known : []), ...(value as unknown[])];
      }
    }
    expect(merged).toMatchObject({ created: 2, updated: 1, nonupdates: 0 });
    const failed = Object.entries(merged).some(
      ([key, value]) => key.includes('Errors') && Array.isArray(value) && value.length > 0,
    );
    expect(failed).toBe(false);
  });

  it('answers with the rate-limit headers clients read', async () => {
    const response = await f.api('GET', '/companies?limit=1');
    expect(response.headers['x-rate-limit-limit']).toBeDefined();
    expect(response.headers['x-rate-limit-remaining']).toBeDefined();
  });
});
