import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_SAMPLES } from './model-samples.js';
import { recordsFixture, type RecordsFixture } from './record-helpers.js';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const OBJECT_ID = /^[0-9a-f]{24}$/;

let f: RecordsFixture;
let companyId: string;
let counter = 0;
const next = () => `${Date.now().toString(36)}-${++counter}`;

beforeAll(async () => {
  f = await recordsFixture();
  const company = await f.api('POST', '/companies', { name: 'Parent', domains: ['parent.test'] });
  companyId = company.json()._id;
});
afterAll(async () => {
  await f.t.close();
});

describe.each(MODEL_SAMPLES.map((sample) => [sample.model, sample] as const))(
  '%s records',
  (_name, sample) => {
    it('creates with 200 and the stored object, attributed to the app', async () => {
      const body = sample.create(companyId, next());
      const created = await f.api('POST', `/${sample.path}`, body);
      expect(created.statusCode, created.body).toBe(200);
      const record = created.json();
      expect(record._id).toMatch(OBJECT_ID);
      expect(record.createdAt).toMatch(ISO_MS);
      expect(record.updatedAt).toBe(record.createdAt);
      expect(record.__v).toBe(0);
      expect(record.createdBy).toEqual({ type: 'app', id: f.appId, name: 'Integration' });
      expect(record.updatedBy).toEqual(record.createdBy);
      for (const [field, value] of Object.entries(body)) {
        if (['date', 'fromDate', 'salesDate'].includes(field)) continue;
        expect(record[field], field).toEqual(value);
      }
    });

    it('reads by every key kind', async () => {
      const body = sample.create(companyId, next());
      const record = (await f.api('POST', `/${sample.path}`, body)).json();
      const keys = [record._id, record._id.toUpperCase()];
      if (sample.keyables) {
        keys.push(`extid-${body.externalId as string}`, `srcid-${body.sourceId as string}`);
      }
      for (const key of keys) {
        const read = await f.api('GET', `/${sample.path}/${encodeURIComponent(key)}`);
        expect(read.statusCode, key).toBe(200);
        expect(read.json()).toEqual(record);
      }
      expect((await f.api('GET', `/${sample.path}/${'0'.repeat(24)}`)).statusCode).toBe(404);
      expect((await f.api('GET', `/${sample.path}/extid-missing`)).statusCode).toBe(404);
      expect((await f.api('GET', `/${sample.path}/not-a-key`)).statusCode).toBe(404);
    });

    it('updates only the fields the body names, by each key kind', async () => {
      const body = sample.create(companyId, next());
      const record = (await f.api('POST', `/${sample.path}`, body)).json();
      const key = sample.keyables ? `srcid-${body.sourceId as string}` : record._id;
      const { field, value } = sample.update;
      const updated = await f.api('PUT', `/${sample.path}/${key}`, { [field]: value });
      expect(updated.statusCode, updated.body).toBe(200);
      const after = updated.json();
      expect(after[field]).toEqual(value);
      expect(after.createdAt).toBe(record.createdAt);
      expect(after.updatedAt >= record.updatedAt).toBe(true);
      for (const [name, kept] of Object.entries(record)) {
        if (name === field || name === 'updatedAt') continue;
        expect(after[name], name).toEqual(kept);
      }
      expect((await f.api('GET', `/${sample.path}/${record._id}`)).json()).toEqual(after);

      if (sample.keyables) {
        const again = await f.api('PUT', `/${sample.path}/extid-${body.externalId as string}`, {
          externalId: `${body.externalId as string}-renamed`,
        });
        expect(again.statusCode).toBe(200);
        const renamed = `/${sample.path}/extid-${body.externalId as string}-renamed`;
        expect((await f.api('GET', renamed)).json()._id).toBe(record._id);
      }
    });

    it('lists as a bare array with limit, offset, sort, select and filters', async () => {
      const made = [];
      for (let i = 0; i < 3; i++) {
        made.push(
          (await f.api('POST', `/${sample.path}`, sample.create(companyId, next()))).json(),
        );
      }
      const all = await f.api('GET', `/${sample.path}?limit=5000`);
      expect(all.statusCode).toBe(200);
      const list = all.json();
      expect(Array.isArray(list)).toBe(true);
      const ids = list.map((item: { _id: string }) => item._id);
      expect(ids).toEqual([...ids].sort());
      for (const record of made) expect(ids).toContain(record._id);

      const page = (await f.api('GET', `/${sample.path}?limit=2&offset=1`)).json();
      expect(page.map((item: { _id: string }) => item._id)).toEqual(ids.slice(1, 3));
      const descending = (await f.api('GET', `/${sample.path}?sort=-_id&limit=2`)).json();
      expect(descending.map((item: { _id: string }) => item._id)).toEqual(
        [...ids].reverse().slice(0, 2),
      );

      const selected = (await f.api('GET', `/${sample.path}?select=createdAt&limit=1`)).json();
      expect(Object.keys(selected[0]).sort()).toEqual(['_id', 'createdAt']);

      if (sample.keyables) {
        const target = made[1];
        const byExternal = await f.api('GET', `/${sample.path}?externalId=${target.externalId}`);
        expect(byExternal.json().map((item: { _id: string }) => item._id)).toEqual([target._id]);
        const bySource = await f.api('GET', `/${sample.path}?sourceId=${target.sourceId}`);
        expect(bySource.json().map((item: { _id: string }) => item._id)).toEqual([target._id]);
      }
      if (sample.model !== 'Company' && sample.model !== 'CustomField') {
        const children = await f.api('GET', `/${sample.path}?companyId=${companyId}&limit=5000`);
        expect(children.json().length).toBeGreaterThanOrEqual(3);
        const none = await f.api('GET', `/${sample.path}?companyId=${'0'.repeat(24)}`);
        expect(none.json()).toEqual([]);
      }
    });

    it('deletes with the MongoDB remove answer, then 404s', async () => {
      const record = (
        await f.api('POST', `/${sample.path}`, sample.create(companyId, next()))
      ).json();
      const removed = await f.api('DELETE', `/${sample.path}/${record._id}`);
      expect(removed.statusCode).toBe(200);
      expect(removed.json()).toEqual({ n: 1, ok: 1, deletedCount: 1 });
      expect((await f.api('GET', `/${sample.path}/${record._id}`)).statusCode).toBe(404);
      expect((await f.api('DELETE', `/${sample.path}/${record._id}`)).statusCode).toBe(404);
    });

    it('keeps a history of who changed what, newest first', async () => {
      const record = (
        await f.api('POST', `/${sample.path}`, sample.create(companyId, next()))
      ).json();
      const { field, value } = sample.update;
      await f.api('PUT', `/${sample.path}/${record._id}`, { [field]: value });
      await f.api('DELETE', `/${sample.path}/${record._id}`);
      const history = await f.api('GET', `/${sample.path}/${record._id}/history`);
      expect(history.statusCode).toBe(200);
      const events = history.json();
      expect(events.map((event: { action: string }) => event.action)).toEqual([
        'delete',
        'update',
        'create',
      ]);
      expect(events[1].fields).toEqual([field]);
      for (const event of events) {
        expect(event.actor).toEqual({ type: 'app', id: f.appId, name: 'Integration' });
      }
    });
  },
);

describe('references and derived fields', () => {
  it('resolves extid- and srcid- company references in bodies and filters', async () => {
    const n = next();
    const company = (
      await f.api('POST', '/companies', {
        name: `Ref ${n}`,
        externalId: `ref-${n}`,
        sourceId: `s-${n}`,
      })
    ).json();
    const byExternal = await f.api('POST', '/endusers', {
      email: `a-${n}@x.test`,
      companyId: `extid-ref-${n}`,
    });
    expect(byExternal.json()).toMatchObject({ companyId: company._id, companyName: `Ref ${n}` });
    const invoice = await f.api('POST', '/invoices', { cId: `srcid-s-${n}`, currency: 'USD' });
    expect(invoice.json()).toMatchObject({ cId: company._id, cName: `Ref ${n}` });
    const issue = await f.api('POST', '/issues', {
      title: 'Crash',
      sourceId: `jira-ref-${n}`,
      archived: false,
      companyIds: [`extid-ref-${n}`, company._id],
    });
    expect(issue.json().companyIds).toEqual([company._id]);

    const users = await f.api('GET', `/endusers?companyId=extid-ref-${n}`);
    expect(users.json().map((user: { _id: string }) => user._id)).toEqual([byExternal.json()._id]);
    const issues = await f.api('GET', `/issues?companyId=srcid-s-${n}`);
    expect(issues.json().map((item: { _id: string }) => item._id)).toEqual([issue.json()._id]);
    const companies = await f.api('GET', `/companies?companyId=extid-ref-${n},${'0'.repeat(24)}`);
    expect(companies.json().map((item: { _id: string }) => item._id)).toEqual([company._id]);

    const missing = await f.api('POST', '/endusers', {
      email: `b-${n}@x.test`,
      companyId: 'extid-nobody',
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().field).toBe('companyId');
  });

  it('puts an end user without companyId in the company of its email domain', async () => {
    const n = next();
    const company = (
      await f.api('POST', '/companies', { name: `Dom ${n}`, domains: [`Dom-${n}.test`] })
    ).json();
    const user = await f.api('POST', '/endusers', {
      email: `eve@dom-${n}.TEST`,
      firstName: 'Eve',
      lastName: 'Stone',
    });
    expect(user.statusCode, user.body).toBe(200);
    expect(user.json()).toMatchObject({
      companyId: company._id,
      companyName: `Dom ${n}`,
      name: 'Eve Stone',
    });

    const nowhere = await f.api('POST', '/endusers', { email: `x@nowhere-${n}.test` });
    expect(nowhere.statusCode).toBe(400);
    expect(nowhere.json().field).toBe('companyId');

    // Moving the domain moves where the next end user lands.
    const other = (await f.api('POST', '/companies', { name: `Other ${n}` })).json();
    await f.api('PUT', `/companies/${company._id}`, { domains: [] });
    await f.api('PUT', `/companies/${other._id}`, { domains: [`dom-${n}.test`] });
    const moved = await f.api('POST', '/endusers', { email: `max@dom-${n}.test` });
    expect(moved.json().companyId).toBe(other._id);
  });

  it('gives an NPS response the company of the end user with its email', async () => {
    const n = next();
    const user = (
      await f.api('POST', '/endusers', { email: `nps-user-${n}@x.test`, companyId })
    ).json();
    const response = await f.api('POST', '/nps', { email: `NPS-user-${n}@x.test`, score: 10 });
    expect(response.json()).toMatchObject({ cId: companyId, euId: user._id });
  });

  it('keeps companyName in step when a company is renamed', async () => {
    const n = next();
    const company = (await f.api('POST', '/companies', { name: `Old ${n}` })).json();
    const user = (
      await f.api('POST', '/endusers', { email: `r-${n}@x.test`, companyId: company._id })
    ).json();
    const invoice = (
      await f.api('POST', '/invoices', { cId: company._id, currency: 'USD' })
    ).json();
    await f.api('PUT', `/companies/${company._id}`, { name: `New ${n}` });
    expect((await f.api('GET', `/endusers/${user._id}`)).json().companyName).toBe(`New ${n}`);
    expect((await f.api('GET', `/invoices/${invoice._id}`)).json().cName).toBe(`New ${n}`);
  });

  it('derives an end user’s name until one is set by hand', async () => {
    const n = next();
    const user = (
      await f.api('POST', '/endusers', {
        email: `d-${n}@x.test`,
        companyId,
        firstName: 'Ada',
        lastName: 'King',
      })
    ).json();
    expect(user.name).toBe('Ada King');
    const renamed = await f.api('PUT', `/endusers/${user._id}`, { lastName: 'Lovelace' });
    expect(renamed.json().name).toBe('Ada Lovelace');
  });

  it('refuses a duplicate sourceId or externalId with 400 naming the field', async () => {
    const n = next();
    await f.api('POST', '/companies', { name: 'A', externalId: `dup-${n}`, sourceId: `dup-${n}` });
    const twice = await f.api('POST', '/companies', { name: 'B', externalId: `dup-${n}` });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().field).toBe('externalId');
    const source = await f.api('POST', '/companies', { name: 'C', sourceId: `dup-${n}` });
    expect(source.json().field).toBe('sourceId');

    // externalId is unique per company for child records.
    const other = (await f.api('POST', '/companies', { name: `Second ${n}` })).json();
    const first = await f.api('POST', '/assets', { name: 'a', companyId, externalId: `x-${n}` });
    const second = await f.api('POST', '/assets', {
      name: 'b',
      companyId: other._id,
      externalId: `x-${n}`,
    });
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    const ambiguous = await f.api('GET', `/assets/extid-x-${n}`);
    expect(ambiguous.statusCode).toBe(400);
    const clash = await f.api('POST', '/assets', { name: 'c', companyId, externalId: `x-${n}` });
    expect(clash.statusCode).toBe(400);
  });
});

describe('request details', () => {
  it('ignores unknown and computed fields, listing them in a header', async () => {
    const created = await f.api('POST', '/companies', {
      name: 'Ignoring',
      favouriteColour: 'blue',
      mrr: 100,
      'weird, name\n': 1,
    });
    expect(created.statusCode).toBe(200);
    expect(created.headers['x-ignored-fields']).toBe('favouriteColour, mrr, weird%2C%20name%0A');
    expect(created.json()).not.toHaveProperty('favouriteColour');
    expect(created.json()).not.toHaveProperty('mrr');

    const updated = await f.api('PUT', `/companies/${created.json()._id}`, {
      _id: '0'.repeat(24),
      nickname: 'x',
    });
    expect(updated.headers['x-ignored-fields']).toBe('_id, nickname');
    const plain = await f.api('PUT', `/companies/${created.json()._id}`, { phase: 'x' });
    expect(plain.headers['x-ignored-fields']).toBeUndefined();
  });

  it('clamps large limits instead of refusing them', async () => {
    const response = await f.api('GET', '/companies?limit=999999');
    expect(response.statusCode).toBe(200);
    const bad = await f.api('GET', '/companies?limit=-1');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().field).toBe('limit');
  });

  it('sorts by any field, custom values included, both ways', async () => {
    const n = next();
    for (const [name, score] of [
      ['b', 2],
      ['c', 1],
      ['a', 3],
    ] as const) {
      await f.api('POST', '/assets', {
        name: `${name}-${n}`,
        companyId,
        externalId: `sort-${n}-${name}`,
        custom: { Score: score },
      });
    }
    const names = async (query: string) =>
      (await f.api('GET', `/assets?${query}&limit=5000`))
        .json()
        .filter((asset: { name: string }) => asset.name.endsWith(`-${n}`))
        .map((asset: { name: string }) => asset.name[0]);
    expect(await names('sort=name')).toEqual(['a', 'b', 'c']);
    expect(await names('sort=-name')).toEqual(['c', 'b', 'a']);
    expect(await names('sort=custom.Score')).toEqual(['c', 'b', 'a']);
    expect(await names('sort=-custom.Score')).toEqual(['a', 'b', 'c']);
    expect((await f.api('GET', '/assets?sort=nonsense')).statusCode).toBe(400);
  });

  it('filters by status and type, and by email without case', async () => {
    const n = next();
    await f.api('POST', '/conversations', { companyId, type: `note-${n}`, subject: 's' });
    await f.api('POST', '/conversations', { companyId, type: `call-${n}`, subject: 's' });
    const notes = (await f.api('GET', `/conversations?type=note-${n},call-${n}`)).json();
    expect(notes).toHaveLength(2);
    expect((await f.api('GET', `/conversations?type=note-${n}`)).json()).toHaveLength(1);

    const user = (
      await f.api('POST', '/endusers', { email: `Case-${n}@X.test`, companyId })
    ).json();
    const found = (await f.api('GET', `/endusers?email=case-${n}@x.TEST`)).json();
    expect(found.map((item: { _id: string }) => item._id)).toEqual([user._id]);

    const company = (
      await f.api('POST', '/companies', { name: `S ${n}`, status: 'customer' })
    ).json();
    const customers = (await f.api('GET', '/companies?status=customer&limit=5000')).json();
    expect(customers.map((item: { _id: string }) => item._id)).toContain(company._id);
    expect(customers.every((item: { status: string }) => item.status === 'customer')).toBe(true);
  });

  it('serves the lean company list with ids, name and slug only', async () => {
    const n = next();
    await f.api('POST', '/companies', {
      name: `Lean ${n}`,
      externalId: `lean-${n}`,
      slug: `lean-${n}`,
    });
    const lean = await f.api('GET', `/leancompanies?externalId=lean-${n}`);
    expect(lean.statusCode).toBe(200);
    expect(lean.json()).toEqual([
      {
        _id: expect.stringMatching(OBJECT_ID),
        name: `Lean ${n}`,
        externalId: `lean-${n}`,
        slug: `lean-${n}`,
      },
    ]);
  });

  it('answers routes a model lacks with 404', async () => {
    expect((await f.api('POST', '/tickets', { companyId })).statusCode).toBe(404);
    expect((await f.api('PUT', '/customfields', [])).statusCode).toBe(404);
    expect((await f.api('POST', '/users', { email: 'x@y.z' })).statusCode).toBe(404);
    expect((await f.api('GET', '/notes')).statusCode).toBe(404);
  });
});
