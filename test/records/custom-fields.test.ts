import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsFixture, type RecordsFixture } from './record-helpers.js';

let f: RecordsFixture;
let companyId: string;

const DEFINITIONS = [
  { name: 'Seats', type: 'number', parent: 'Company' },
  { name: 'Renewed', type: 'checkbox', parent: 'Company' },
  { name: 'Kick-off', type: 'date', parent: 'Company' },
  { name: 'Modules', type: 'multipicklist', parent: 'Company' },
  { name: 'Champion', type: 'email', parent: 'Company' },
  { name: 'Seats', type: 'text', parent: 'EndUser' },
];

beforeAll(async () => {
  f = await recordsFixture();
  for (const definition of DEFINITIONS) {
    const created = await f.api('POST', '/customfields', { ...definition, isHidden: false });
    expect(created.statusCode, created.body).toBe(200);
  }
  companyId = (await f.api('POST', '/companies', { name: 'Custom' })).json()._id;
});
afterAll(async () => {
  await f.t.close();
});

describe('custom field definitions', () => {
  it('give custom values their types, naming custom.<name> when one is wrong', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ Seats: 'ten' }, 'custom.Seats'],
      [{ Renewed: 'yes' }, 'custom.Renewed'],
      [{ 'Kick-off': 'next week' }, 'custom.Kick-off'],
      [{ Modules: 'a,b' }, 'custom.Modules'],
      [{ Champion: 'nobody' }, 'custom.Champion'],
    ];
    for (const [custom, field] of cases) {
      const response = await f.api('PUT', `/companies/${companyId}`, { custom });
      expect(response.statusCode, field).toBe(400);
      expect(response.json()).toMatchObject({ error: 'validation_failed', field });
    }
    const good = await f.api('PUT', `/companies/${companyId}`, {
      custom: {
        Seats: 10,
        Renewed: true,
        'Kick-off': '2024-03-01',
        Modules: ['a', 'b'],
        Champion: 'ann@x.test',
        Undefined: { any: 'shape' },
      },
    });
    expect(good.statusCode).toBe(200);
    expect(good.json().custom).toEqual({
      Seats: 10,
      Renewed: true,
      'Kick-off': '2024-03-01T00:00:00.000Z',
      Modules: ['a', 'b'],
      Champion: 'ann@x.test',
      Undefined: { any: 'shape' },
    });
  });

  it('apply per parent model', async () => {
    const user = await f.api('POST', '/endusers', {
      email: 'c@x.test',
      companyId,
      custom: { Seats: 'many' },
    });
    expect(user.statusCode).toBe(200);
    const bulk = await f.api('PUT', '/companies', [{ name: 'Bulk', custom: { Seats: 'x' } }]);
    expect(bulk.statusCode).toBe(400);
    expect(bulk.json().createdErrors[0].field).toBe('custom.Seats');
  });

  it('refuse an unknown type or parent, and a second field of the same name', async () => {
    const badType = await f.api('POST', '/customfields', {
      name: 'X',
      type: 'colour',
      parent: 'Company',
      isHidden: false,
    });
    expect(badType.json().field).toBe('type');
    const badParent = await f.api('POST', '/customfields', {
      name: 'X',
      type: 'text',
      parent: 'Spaceship',
      isHidden: false,
    });
    expect(badParent.json().field).toBe('parent');
    const twice = await f.api('POST', '/customfields', {
      name: 'Seats',
      type: 'text',
      parent: 'company',
      isHidden: false,
    });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().field).toBe('name');
    const missing = await f.api('POST', '/customfields', { name: 'Y', type: 'text' });
    expect(missing.statusCode).toBe(400);
  });

  it('are listed, edited and deleted like other records', async () => {
    const list = (await f.api('GET', '/customfields?limit=100')).json();
    const names = list.map(
      (field: { name: string; parent: string }) => `${field.parent}.${field.name}`,
    );
    expect(names.sort()).toEqual(DEFINITIONS.map((item) => `${item.parent}.${item.name}`).sort());
    const seats = list.find(
      (field: { name: string; parent: string }) =>
        field.name === 'Seats' && field.parent === 'Company',
    );
    const renamed = await f.api('PUT', `/customfields/${seats._id}`, { name: 'Licences' });
    expect(renamed.json().name).toBe('Licences');
    // The value type now follows the new name.
    const free = await f.api('PUT', `/companies/${companyId}`, { custom: { Seats: 'free text' } });
    expect(free.statusCode).toBe(200);
    const removed = await f.api('DELETE', `/customfields/${seats._id}`);
    expect(removed.json()).toEqual({ n: 1, ok: 1, deletedCount: 1 });
  });
});
