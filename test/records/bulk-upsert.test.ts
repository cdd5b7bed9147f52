import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_SAMPLES } from './model-samples.js';
import { only, recordsFixture, type Call, type RecordsFixture } from './record-helpers.js';

const REPORT_KEYS = [
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

let f: RecordsFixture;
let companyId: string;
let counter = 0;
const next = () => `${Date.now().toString(36)}-${++counter}`;

beforeAll(async () => {
  f = await recordsFixture();
  companyId = (await f.api('POST', '/companies', { name: 'Bulk parent' })).json()._id;
});
afterAll(async () => {
  await f.t.close();
});

describe('PUT /{model} with an array', () => {
  it('creates new items, updates matched ones and reports each', async () => {
    const n = next();
    const existing = (
      await f.api('POST', '/companies', { name: 'Old', externalId: `m-${n}`, phase: 'A' })
    ).json();
    const bySource = (
      await f.api('POST', '/companies', { name: 'Src', sourceId: `s-${n}` })
    ).json();
    const byId = (await f.api('POST', '/companies', { name: 'Id' })).json();

    const response = await f.api('PUT', '/companies', [
      { name: 'Fresh', externalId: `new-${n}` },
      { externalId: `m-${n}`, phase: 'B' },
      { sourceId: `s-${n}`, name: 'Src renamed' },
      { _id: byId._id, name: 'Id' },
      { externalId: `bad-${n}` },
      'not an object',
    ]);
    expect(response.statusCode).toBe(206);
    const report = response.json();
    expect(Object.keys(report)).toEqual(REPORT_KEYS);
    expect(report.created).toBe(1);
    expect(report.insertsKeys).toEqual([{ _id: report.upsertedIds[0], externalId: `new-${n}` }]);
    expect(report.updated).toBe(2);
    expect(report.modified).toEqual([existing._id, bySource._id]);
    expect(report.nonupdates).toBe(1);
    expect(report.updatesKeys).toEqual([
      { _id: existing._id, externalId: `m-${n}` },
      { _id: bySource._id, sourceId: `s-${n}` },
      { _id: byId._id },
    ]);
    expect(report.createdErrors).toEqual([
      { index: 4, item: { externalId: `bad-${n}` }, error: 'name is required', field: 'name' },
      { index: 5, item: 'not an object', error: 'The item must be a JSON object' },
    ]);
    expect(report.updatedErrors).toEqual([]);
    expect(report.permissionErrors).toEqual([]);

    const updated = (await f.api('GET', `/companies/${existing._id}`)).json();
    expect(updated).toMatchObject({ name: 'Old', phase: 'B' });
    const history = (await f.api('GET', `/companies/${existing._id}/history`)).json();
    expect(history[0]).toMatchObject({ action: 'update', fields: ['phase'] });
    const created = (await f.api('GET', `/companies/extid-new-${n}`)).json();
    expect(created.createdBy).toMatchObject({ type: 'app', id: f.appId });
  });

  it('answers 200 when every item succeeds, 400 when every one is invalid', async () => {
    const n = next();
    const ok = await f.api('PUT', '/companies', [{ name: 'A', externalId: `ok-${n}` }]);
    expect(ok.statusCode).toBe(200);
    const bad = await f.api('PUT', '/companies', [{ externalId: `x-${n}` }, { name: 5 }]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().createdErrors).toHaveLength(2);
    const empty = await f.api('PUT', '/companies', []);
    expect(empty.statusCode).toBe(200);
    expect(empty.json().created).toBe(0);
  });

  it('puts items lacking create or update permission in permissionErrors', async () => {
    const n = next();
    const existing = (
      await f.api('POST', '/companies', { name: 'Kept', externalId: `p-${n}` })
    ).json();
    const updateOnly = await f.withToken(only({ Company: { update: true } }), 'Updater');
    const mixed = await updateOnly('PUT', '/companies', [
      { externalId: `p-${n}`, phase: 'Updated' },
      { name: 'Nope', externalId: `p-new-${n}` },
    ]);
    expect(mixed.statusCode).toBe(206);
    expect(mixed.json().updated).toBe(1);
    expect(mixed.json().permissionErrors).toEqual([
      {
        index: 1,
        item: { name: 'Nope', externalId: `p-new-${n}` },
        error: 'requires Company.create',
        permission: 'Company.create',
      },
    ]);

    const createOnly = await f.withToken(only({ Company: { create: true } }), 'Creator');
    const denied = await createOnly('PUT', '/companies', [{ externalId: `p-${n}`, phase: 'X' }]);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().permissionErrors[0].permission).toBe('Company.update');
    expect((await f.api('GET', `/companies/${existing._id}`)).json().phase).toBe('Updated');

    const nothing = await f.withToken(only({ Company: { view: true } }), 'Viewer');
    const forbidden = await nothing('PUT', '/companies', [{ name: 'N' }]);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().created).toBe(0);
  });

  it('is atomic per item: a refused item leaves nothing behind', async () => {
    const n = next();
    const taken = (
      await f.api('POST', '/companies', { name: 'Taken', sourceId: `taken-${n}` })
    ).json();
    const target = (
      await f.api('POST', '/companies', { name: 'Target', externalId: `t-${n}`, domains: [] })
    ).json();
    const response = await f.api('PUT', '/companies', [
      // Matched by sourceId (tried first), but its externalId belongs to another company.
      { externalId: `t-${n}`, sourceId: `taken-${n}`, domains: [`t-${n}.test`], name: 'Moved' },
      { name: 'Fine', externalId: `fine-${n}` },
    ]);
    expect(response.statusCode).toBe(206);
    const report = response.json();
    expect(report.updatedErrors).toEqual([
      expect.objectContaining({ index: 0, field: 'externalId' }),
    ]);
    expect(report.created).toBe(1);

    const after = (await f.api('GET', `/companies/${target._id}`)).json();
    expect(after).toEqual(target);
    // The refused item's domains were never stored either.
    const stranger = await f.api('POST', '/endusers', { email: `a@t-${n}.test` });
    expect(stranger.statusCode).toBe(400);
    const history = (await f.api('GET', `/companies/${target._id}/history`)).json();
    expect(history.map((event: { action: string }) => event.action)).toEqual(['create']);
    expect((await f.api('GET', `/companies/${taken._id}`)).json()).toEqual(taken);
  });

  it('matches items to records created earlier in the same request', async () => {
    const n = next();
    const response = await f.api('PUT', '/companies', [
      { name: 'First', externalId: `same-${n}` },
      { externalId: `same-${n}`, phase: 'Second' },
    ]);
    const report = response.json();
    expect(report.created).toBe(1);
    expect(report.updated).toBe(1);
    expect(report.modified).toEqual(report.upsertedIds);
  });

  it('matches items by the keys earlier items of the same request gave', async () => {
    const n = next();
    const moved = (
      await f.api('POST', '/companies', { name: 'Moved', externalId: `x-${n}` })
    ).json();
    const response = await f.api('PUT', '/companies', [
      { _id: moved._id.toUpperCase(), externalId: `y-${n}` },
      { externalId: `y-${n}`, phase: 'Found by its new key' },
      { externalId: `x-${n}`, name: 'Takes the old key' },
    ]);
    const report = response.json();
    expect(report.modified).toEqual([moved._id, moved._id]);
    expect(report.created).toBe(1);
    const stored = (await f.api('GET', `/companies/${moved._id}`)).json();
    expect(stored).toMatchObject({ externalId: `y-${n}`, phase: 'Found by its new key' });
    expect((await f.api('GET', `/companies/extid-x-${n}`)).json().name).toBe('Takes the old key');
  });

  it('matches end users by _id, sourceId, externalId within the company, then email', async () => {
    const n = next();
    const other = (await f.api('POST', '/companies', { name: `Other ${n}` })).json();
    const a = (
      await f.api('POST', '/endusers', { email: `a-${n}@x.test`, companyId, externalId: `e-${n}` })
    ).json();
    const b = (
      await f.api('POST', '/endusers', {
        email: `b-${n}@x.test`,
        companyId: other._id,
        externalId: `e-${n}`,
      })
    ).json();
    const response = await f.api('PUT', '/endusers', [
      { externalId: `e-${n}`, companyId: other._id, position: 'In other' },
      { externalId: `e-${n}`, companyId, position: 'In parent' },
      { externalId: `e-${n}`, position: 'Which one?' },
      { email: `A-${n}@X.test`, lastName: 'By email' },
    ]);
    const report = response.json();
    expect(report.modified).toEqual([b._id, a._id, a._id]);
    expect(report.updatedErrors).toEqual([
      expect.objectContaining({ index: 2, field: 'externalId' }),
    ]);
    expect((await f.api('GET', `/endusers/${a._id}`)).json()).toMatchObject({
      position: 'In parent',
      lastName: 'By email',
    });

    // An email shared by two end users is no key: the item is created.
    await f.api('POST', '/endusers', { email: `shared-${n}@x.test`, companyId });
    await f.api('POST', '/endusers', { email: `shared-${n}@x.test`, companyId: other._id });
    const shared = await f.api('PUT', '/endusers', [
      { email: `shared-${n}@x.test`, companyId, firstName: 'Third' },
    ]);
    expect(shared.json().created).toBe(1);
  });

  it('resolves extid- company references in items, as integrations send them', async () => {
    const n = next();
    const org = (await f.api('POST', '/companies', { name: 'Org', externalId: `org-${n}` })).json();
    const response = await f.api('PUT', '/endusers', [
      { email: `u1-${n}@x.test`, companyId: `extid-org-${n}`, externalId: `u1-${n}` },
      { email: `u2-${n}@x.test`, companyId: `extid-org-${n}`, externalId: `u2-${n}` },
      { email: `u3-${n}@x.test`, companyId: 'extid-nobody', externalId: `u3-${n}` },
    ]);
    const report = response.json();
    expect(report.created).toBe(2);
    expect(report.createdErrors).toEqual([
      expect.objectContaining({ index: 2, field: 'companyId' }),
    ]);
    const users = (await f.api('GET', `/endusers?companyId=${org._id}`)).json();
    expect(users.map((user: { companyName: string }) => user.companyName)).toEqual(['Org', 'Org']);
  });

  it('refuses a body that is not an array, or more than 5,000 items', async () => {
    const object = await f.api('PUT', '/companies', { name: 'x' });
    expect(object.statusCode).toBe(400);
    const many = Array.from({ length: 5001 }, (_, i) => ({ name: `c${i}` }));
    const tooMany = await f.api('PUT', '/companies', many);
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().message).toMatch(/5000/);
  });

  it('lists ignored fields across items, but not the _id used as key', async () => {
    const n = next();
    const company = (await f.api('POST', '/companies', { name: 'I' })).json();
    const response = await f.api('PUT', '/companies', [
      { _id: company._id, junk: 1 },
      { name: 'J', externalId: `j-${n}`, mrr: 5, junk: 2 },
    ]);
    expect(response.headers['x-ignored-fields']).toBe('junk, mrr');
  });

  it('upserts 5,000 companies in one request', async () => {
    const n = next();
    const seed = Array.from({ length: 2500 }, (_, i) => ({
      name: `S${i}`,
      externalId: `k-${n}-${i}`,
    }));
    expect((await f.api('PUT', '/companies', seed)).json().created).toBe(2500);
    const items = [
      ...seed.map((item) => ({ ...item, phase: 'Matched' })),
      ...Array.from({ length: 2500 }, (_, i) => ({ name: `N${i}`, externalId: `kn-${n}-${i}` })),
    ];
    const response = await f.api('PUT', '/companies', items);
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect([report.created, report.updated]).toEqual([2500, 2500]);
  });

  it('audits every item of a batch that fills no whole audit statement', async () => {
    const n = next();
    // 507 rows go in by 500, 4, 2 and 1: each must keep its own event.
    const items = Array.from({ length: 507 }, (_, i) => ({
      name: `A${i}`,
      externalId: `a-${n}-${i}`,
    }));
    const report = (await f.api('PUT', '/companies', items)).json();
    expect(report.created).toBe(507);

    for (const index of [0, 499, 500, 503, 505, 506]) {
      const id = report.upsertedIds[index];
      const history = (await f.api('GET', `/companies/${id}/history`)).json();
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        action: 'create',
        actor: { type: 'app', id: f.appId },
        fields: expect.arrayContaining(['name', 'externalId']),
      });
    }
  });
});

describe.each(
  MODEL_SAMPLES.filter((sample) => sample.model !== 'CustomField').map(
    (sample) => [sample.model, sample] as const,
  ),
)('bulk upsert of %s', (_name, sample) => {
  it('creates, matches, refuses invalid and forbidden items', async () => {
    const n = next();
    const first = sample.create(companyId, `${n}-a`);
    const created = await f.api('PUT', `/${sample.path}`, [first]);
    expect(created.statusCode, created.body).toBe(200);
    const id = created.json().upsertedIds[0];

    const { field, value } = sample.update;
    const mixed = await f.api('PUT', `/${sample.path}`, [
      { sourceId: first.sourceId, [field]: value },
      sample.create(companyId, `${n}-b`),
      { ...sample.create(companyId, `${n}-c`), custom: 'not an object' },
    ]);
    expect(mixed.statusCode, mixed.body).toBe(206);
    const report = mixed.json();
    expect(report.modified).toEqual([id]);
    expect(report.created).toBe(1);
    expect(report.createdErrors).toEqual([expect.objectContaining({ index: 2, field: 'custom' })]);
    const read = await f.api('GET', `/${sample.path}/${id}`);
    if (read.statusCode === 200) expect(read.json()[field]).toEqual(value);

    const viewer: Call = await f.withToken(
      only({ [sample.model]: { view: true } }),
      `Viewer ${sample.model}`,
    );
    const forbidden = await viewer('PUT', `/${sample.path}`, [
      sample.create(companyId, `${n}-d`),
      { sourceId: first.sourceId, [field]: value },
    ]);
    expect(forbidden.statusCode).toBe(403);
    expect(
      forbidden.json().permissionErrors.map((e: { permission: string }) => e.permission),
    ).toEqual([`${sample.model}.create`, `${sample.model}.update`]);
  });
});

describe('tickets', () => {
  it('are upserted by sourceId, listed and deleted', async () => {
    const n = next();
    const body = { companyId, sourceId: `zd-${n}`, email: `t-${n}@x.test`, title: 'Help' };
    const created = await f.api('PUT', '/tickets', [body]);
    expect(created.statusCode).toBe(200);
    const id = created.json().upsertedIds[0];
    const again = await f.api('PUT', '/tickets', [{ sourceId: `zd-${n}`, status: 'solved' }]);
    expect(again.json().modified).toEqual([id]);
    const listed = (await f.api('GET', `/tickets?sourceId=zd-${n}`)).json();
    expect(listed).toEqual([expect.objectContaining({ _id: id, status: 'solved' })]);
    const dropped = await f.api('PUT', '/tickets', [{ companyId, sourceId: `zd2-${n}` }]);
    expect(dropped.json().createdErrors[0].field).toBe('email');
    expect((await f.api('DELETE', `/tickets/srcid-zd-${n}`)).json()).toEqual({
      n: 1,
      ok: 1,
      deletedCount: 1,
    });
  });

  it('are the conversations of type ticket: one store for both paths', async () => {
    const n = next();
    const body = { companyId, sourceId: `one-${n}`, email: `o-${n}@x.test`, title: 'Broken' };
    const id = (await f.api('PUT', '/tickets', [body])).json().upsertedIds[0];

    const asConversations = (await f.api('GET', `/conversations?type=ticket&sourceId=one-${n}`))
      .json()
      .map((conversation: { _id: string }) => conversation._id);
    expect(asConversations).toEqual([id]);
    const conversation = (await f.api('GET', `/conversations/${id}`)).json();
    expect(conversation).toMatchObject({
      type: 'ticket',
      title: 'Broken',
      companyName: 'Bulk parent',
    });

    // Edited as a conversation, seen as a ticket, and the other way round.
    await f.api('PUT', `/conversations/${id}`, { status: 'pending' });
    const listed = (await f.api('GET', `/tickets?sourceId=one-${n}`)).json();
    expect(listed).toEqual([expect.objectContaining({ _id: id, status: 'pending' })]);
    await f.api('PUT', '/tickets', [{ sourceId: `one-${n}`, priority: 'high' }]);
    expect((await f.api('GET', `/conversations/${id}`)).json().priority).toBe('high');

    const made = await f.api('POST', '/conversations', {
      companyId,
      type: 'ticket',
      sourceId: `two-${n}`,
      email: `t-${n}@x.test`,
    });
    const tickets = (await f.api('GET', `/tickets?sourceId=two-${n}`)).json();
    expect(tickets.map((ticket: { _id: string }) => ticket._id)).toEqual([made.json()._id]);

    const history = (await f.api('GET', `/conversations/${id}/history`)).json();
    expect(history.map((event: { action: string }) => event.action)).toEqual([
      'update',
      'update',
      'create',
    ]);

    await f.api('DELETE', `/tickets/${id}`);
    expect((await f.api('GET', `/conversations/${id}`)).statusCode).toBe(404);
  });

  it('never reach the other conversations', async () => {
    const n = next();
    const note = (
      await f.api('POST', '/conversations', { companyId, type: 'note', sourceId: `note-${n}` })
    ).json();

    expect((await f.api('GET', '/tickets?limit=10000')).json()).not.toContainEqual(
      expect.objectContaining({ _id: note._id }),
    );
    expect((await f.api('DELETE', `/tickets/${note._id}`)).statusCode).toBe(404);
    expect((await f.api('DELETE', `/tickets/srcid-note-${n}`)).statusCode).toBe(404);

    const bySource = await f.api('PUT', '/tickets', [
      { companyId, sourceId: `note-${n}`, email: `n-${n}@x.test`, title: 'Hijack' },
    ]);
    expect(bySource.statusCode).toBe(400);
    expect(bySource.json().updatedErrors[0]).toMatchObject({ field: 'sourceId' });
    const byId = await f.api('PUT', '/tickets', [{ _id: note._id, title: 'Hijack' }]);
    expect(byId.json().updatedErrors[0]).toMatchObject({ field: '_id' });

    const kept = (await f.api('GET', `/conversations/${note._id}`)).json();
    expect(kept.type).toBe('note');
    expect(kept.title).toBeUndefined();

    const retyped = await f.api('PUT', '/tickets', [
      { companyId, sourceId: `typed-${n}`, email: `y-${n}@x.test`, type: 'note' },
    ]);
    expect(retyped.json().createdErrors[0]).toMatchObject({ field: 'type' });
  });
});

describe('bulk upserts past one batch of writes', () => {
  it('lets each item see the items before it, whatever batch they were in', async () => {
    const n = next();
    const items: unknown[] = [];
    for (let i = 0; i < 1_200; i += 1) items.push({ name: `Co ${i}`, externalId: `b-${n}-${i}` });
    // Created then changed in the same batch, changed twice, and changed a batch later.
    items.push({ externalId: `b-${n}-1199`, phase: 'Later' });
    items.push({ externalId: `b-${n}-3`, phase: 'First' });
    items.push({ externalId: `b-${n}-3`, phase: 'Second' });
    items.push({ name: 'Renamed', externalId: `b-${n}-0` });

    const response = await f.api('PUT', '/companies', items);
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect([report.created, report.updated, report.nonupdates]).toEqual([1_200, 4, 0]);

    const read = async (key: string) => (await f.api('GET', `/companies/extid-${key}`)).json();
    expect(await read(`b-${n}-1199`)).toMatchObject({ name: 'Co 1199', phase: 'Later', __v: 0 });
    expect(await read(`b-${n}-3`)).toMatchObject({ phase: 'Second' });
    expect(await read(`b-${n}-0`)).toMatchObject({ name: 'Renamed' });
    expect(await read(`b-${n}-600`)).toMatchObject({ name: 'Co 600' });
    const events = (await f.api('GET', `/companies/extid-b-${n}-3/history`)).json();
    expect(events.map((event: { action: string }) => event.action)).toEqual([
      'update',
      'update',
      'create',
    ]);
  });

  it('refuses only the item whose key another record holds, and keeps its batch', async () => {
    const n = next();
    const stored = await f.api('PUT', '/tickets', [
      { companyId, sourceId: `held-${n}`, email: `h-${n}@x.test`, externalId: `ext-${n}` },
    ]);
    expect(stored.json().created).toBe(1);

    // Tickets match by _id and sourceId only: externalId, unique per company, is found
    // taken by the insert itself.
    const response = await f.api('PUT', '/tickets', [
      { companyId, sourceId: `a-${n}`, email: `a-${n}@x.test`, externalId: `ext-${n}` },
      { companyId, sourceId: `b-${n}`, email: `b-${n}@x.test`, externalId: `pair-${n}` },
      { companyId, sourceId: `c-${n}`, email: `c-${n}@x.test`, externalId: `pair-${n}` },
      { companyId, sourceId: `d-${n}`, email: `d-${n}@x.test` },
    ]);
    expect(response.statusCode).toBe(206);
    const report = response.json();
    expect(report.created).toBe(2);
    expect(report.createdErrors).toMatchObject([
      { index: 0, field: 'externalId' },
      { index: 2, field: 'externalId' },
    ]);
    const listed = (await f.api('GET', `/tickets?companyId=${companyId}&limit=5000`)).json();
    const sources = listed.map((ticket: { sourceId: string }) => ticket.sourceId);
    expect(sources).toEqual(expect.arrayContaining([`held-${n}`, `b-${n}`, `d-${n}`]));
    expect(sources).not.toContain(`a-${n}`);
    expect(sources).not.toContain(`c-${n}`);
    const [created] = report.upsertedIds;
    const history = (await f.api('GET', `/conversations/${created}/history`)).json();
    expect(history.map((event: { action: string }) => event.action)).toEqual(['create']);
  });
});
