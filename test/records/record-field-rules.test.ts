import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allActions } from '../../src/permissions/permission-set.js';
import { recordsFixture, type Call, type RecordsFixture } from './record-helpers.js';

let f: RecordsFixture;
let restricted: Call;
let company: Record<string, unknown>;

const RULES = {
  Company: {
    mrr: 'hidden',
    description: 'hidden',
    phase: 'read',
    'custom.Secret': 'hidden',
    'custom.Tier': 'read',
  },
} as const;

beforeAll(async () => {
  f = await recordsFixture();
  restricted = await f.withToken(
    { models: { Company: allActions(), EndUser: allActions() }, fields: RULES },
    'Restricted',
  );
  const created = await f.api('POST', '/companies', {
    name: 'Ruled',
    externalId: 'ruled',
    description: 'Board is unhappy',
    phase: 'Onboarding',
    custom: { Secret: 'x', Tier: 'gold', Open: 1 },
  });
  company = created.json();
});
afterAll(async () => {
  await f.t.close();
});

const HIDDEN = ['description'];

function expectRedacted(record: Record<string, unknown>) {
  for (const field of HIDDEN) expect(record).not.toHaveProperty(field);
  expect(record.custom).toEqual({ Tier: 'gold', Open: 1 });
  expect(record.phase).toBe('Onboarding');
}

describe('hidden fields', () => {
  it('never appear in a read, a list, a lean list or an upsert answer', async () => {
    expectRedacted((await restricted('GET', `/companies/${company._id}`)).json());
    expectRedacted((await restricted('GET', '/companies/extid-ruled')).json());
    const list = (await restricted('GET', '/companies')).json();
    expectRedacted(list.find((item: { _id: string }) => item._id === company._id));
    const selected = (
      await restricted('GET', '/companies?select=name,description,custom.Secret,custom.Tier')
    ).json();
    expect(selected[0]).toEqual({ _id: company._id, name: 'Ruled', custom: { Tier: 'gold' } });

    const updated = await restricted('PUT', `/companies/${company._id}`, { name: 'Ruled' });
    expectRedacted(updated.json());
    const full = (await f.api('GET', `/companies/${company._id}`)).json();
    expect(full.description).toBe('Board is unhappy');
  });

  it('cannot be sorted or filtered on', async () => {
    const sort = await restricted('GET', '/companies?sort=-description');
    expect(sort.statusCode).toBe(400);
    expect(sort.json().field).toBe('sort');
    expect((await restricted('GET', '/companies?sort=custom.Secret')).statusCode).toBe(400);
    expect((await f.api('GET', '/companies?sort=-description')).statusCode).toBe(200);
  });

  it('stay hidden in exports and history', async () => {
    const ndjson = await restricted('GET', '/companies/export');
    const lines = ndjson.body
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expectRedacted(lines.find((line: { _id: string }) => line._id === company._id));
    const csv = await restricted('GET', '/companies/export?format=csv');
    const header = csv.body.split('\r\n')[0]?.split(',') ?? [];
    expect(header).not.toContain('description');
    expect(csv.body).not.toContain('Board is unhappy');

    await f.api('PUT', `/companies/${company._id}`, {
      description: 'Changed',
      custom: { Secret: 'y' },
      slug: 'ruled',
    });
    const history = (await restricted('GET', `/companies/${company._id}/history`)).json();
    expect(history[0].fields).toEqual(['slug']);
    const fullHistory = (await f.api('GET', `/companies/${company._id}/history`)).json();
    expect(fullHistory[0].fields).toEqual(['description', 'custom.Secret', 'slug']);
  });
});

describe('read-only and hidden fields on write', () => {
  it('refuse a create or update with 400 naming the field', async () => {
    const create = await restricted('POST', '/companies', { name: 'New', phase: 'Trial' });
    expect(create.statusCode).toBe(400);
    expect(create.json()).toMatchObject({
      error: 'validation_failed',
      field: 'phase',
      permission: 'Company.phase.write',
    });
    const custom = await restricted('PUT', `/companies/${company._id}`, {
      custom: { Tier: 'silver' },
    });
    expect(custom.json().field).toBe('custom.Tier');
    const hidden = await restricted('PUT', `/companies/${company._id}`, { description: 'x' });
    expect(hidden.statusCode).toBe(400);
    expect(hidden.json().field).toBe('description');
    const open = await restricted('PUT', `/companies/${company._id}`, { custom: { Open: 2 } });
    expect(open.statusCode).toBe(200);
    expect(open.json().custom).toEqual({ Tier: 'gold', Open: 2 });
  });

  it('go to permissionErrors in a bulk upsert', async () => {
    const response = await restricted('PUT', '/companies', [
      { externalId: 'ruled', phase: 'Churned' },
      { externalId: 'ruled', slug: 'fine' },
      { name: 'Newcomer', custom: { Secret: 'no' } },
    ]);
    expect(response.statusCode).toBe(206);
    const report = response.json();
    expect(report.permissionErrors).toEqual([
      expect.objectContaining({ index: 0, field: 'phase', permission: 'Company.phase.write' }),
      expect.objectContaining({ index: 2, field: 'custom.Secret' }),
    ]);
    expect(report.updated).toBe(1);
  });

  it('leave fields that the rules do not name writable', async () => {
    const create = await restricted('POST', '/endusers', {
      email: 'rules@x.test',
      companyId: company._id,
    });
    expect(create.statusCode).toBe(200);
  });
});
