import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { only, recordsFixture, type RecordsFixture } from './record-helpers.js';

let f: RecordsFixture;

beforeAll(async () => {
  f = await recordsFixture();
  const added = await f.t.as(f.admin, {
    method: 'POST',
    url: '/manage/members',
    payload: { email: 'zoe@acme.test', firstName: 'Zoe', lastName: 'Park', roleIds: [] },
  });
  expect(added.statusCode, added.body).toBe(200);
});
afterAll(async () => {
  await f.t.close();
});

describe('GET /users', () => {
  it('lists team members in Planhat’s user shape, never private apps', async () => {
    const users = (await f.api('GET', '/users?sort=email')).json();
    expect(users.map((user: { email: string }) => user.email)).toEqual([
      'admin@acme.test',
      'zoe@acme.test',
    ]);
    expect(users[1]).toMatchObject({
      firstName: 'Zoe',
      lastName: 'Park',
      roles: [],
      inactive: false,
      isHidden: false,
    });
    const names = users.map((user: { firstName: string }) => user.firstName);
    expect(names).not.toContain('Integration');
  });

  it('supports limit, offset, select, sort and the email filter', async () => {
    const page = (await f.api('GET', '/users?sort=-email&limit=1&select=email')).json();
    expect(page).toEqual([{ _id: expect.any(String), email: 'zoe@acme.test' }]);
    const second = (await f.api('GET', '/users?sort=email&offset=1')).json();
    expect(second.map((user: { email: string }) => user.email)).toEqual(['zoe@acme.test']);
    const found = (await f.api('GET', '/users?email=ZOE@acme.test')).json();
    expect(found).toHaveLength(1);
  });

  it('reads one member by _id; other keys and other workspaces are not found', async () => {
    const zoe = (await f.api('GET', '/users?email=zoe@acme.test')).json()[0];
    expect((await f.api('GET', `/users/${zoe._id}`)).json()).toEqual(zoe);
    expect((await f.api('GET', '/users/extid-zoe')).statusCode).toBe(404);
    const other = await f.t.seedWorkspace('Elsewhere', 'admin@elsewhere.test');
    expect((await f.api('GET', `/users/${other.admin.id}`)).statusCode).toBe(404);
  });

  it('hides fields the rules hide, and needs User.view', async () => {
    const limited = await f.withToken(
      only({ User: { view: true, export: true } }, { User: { email: 'hidden' } }),
      'No emails',
    );
    const users = (await limited('GET', '/users')).json();
    expect(users.every((user: Record<string, unknown>) => !('email' in user))).toBe(true);
    const csv = await limited('GET', '/users/export?format=csv');
    expect(csv.body.split('\r\n')[0]).toBe(
      '_id,firstName,lastName,nickName,roles,inactive,isHidden,createdAt,updatedAt',
    );
    expect(csv.body).not.toContain('zoe@acme.test');
    const viewerless = await f.withToken(only({ Company: { view: true } }), 'Companies only');
    const refused = await viewerless('GET', '/users');
    expect(refused.json()).toMatchObject({ permission: 'User.view' });
  });
});
