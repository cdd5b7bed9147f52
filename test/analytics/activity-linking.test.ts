import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allActions } from '../../src/permissions/permission-set.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const EVERYTHING = {
  models: {
    Company: allActions(),
    EndUser: allActions(),
    UserActivity: allActions(),
    DimensionData: allActions(),
  },
  fields: {},
};

interface Doc {
  _id: string;
  lastActive?: string;
  updatedAt: string;
  [key: string]: unknown;
}

describe('activities and the end users and companies they name', () => {
  let t: TestApp;
  let token: string;
  let acme: Doc;
  beforeEach(async () => {
    t = await createTestApp();
    token = (await createAppWithToken(t, await t.login(), EVERYTHING)).token;
    acme = (await api('POST', '/companies', { name: 'Acme', externalId: 'acme' })).json();
  });
  afterEach(async () => {
    await t.close();
  });

  const api = (method: 'GET' | 'POST', url: string, payload?: object) =>
    t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
  const track = async (path: string, payload: object, headers = {}) => {
    const response = await t.app.inject({
      method: 'POST',
      url: path.replace(':tenant', t.seed.workspace.tenantToken),
      payload,
      headers,
    });
    expect(response.statusCode).toBe(200);
    return response.json();
  };
  const endUsers = async (): Promise<Doc[]> => (await api('GET', '/endusers')).json();
  const company = async (): Promise<Doc> => (await api('GET', `/companies/${acme._id}`)).json();

  it('creates an unknown end user in the company its companyExternalId names', async () => {
    await track('/analytics/:tenant', {
      externalId: 'u-1',
      email: 'ada@acme.test',
      firstName: 'Ada',
      lastName: 'Lovelace',
      companyExternalId: 'acme',
      action: 'Logged in',
      date: '2024-03-01T10:00:00.000Z',
    });

    const [user, ...others] = await endUsers();
    expect(others).toEqual([]);
    expect(user).toMatchObject({
      externalId: 'u-1',
      email: 'ada@acme.test',
      firstName: 'Ada',
      lastName: 'Lovelace',
      companyId: acme._id,
      companyName: 'Acme',
      lastActive: '2024-03-01T10:00:00.000Z',
      createdBy: { type: 'system', id: 'analytics', name: 'User tracking' },
    });
    expect((await company()).lastActive).toBe('2024-03-01T10:00:00.000Z');

    const [activity] = (await api('GET', `/useractivities?companyId=${acme._id}`)).json();
    expect(activity).toMatchObject({ enduserId: user?._id, companyId: acme._id });
  });

  it('creates an end user known by externalId alone, and only once', async () => {
    await track('/analytics/bulk/:tenant', [
      { externalId: 'u-2', cId: 'acme', date: '2024-03-01T10:00:00.000Z' },
      { externalId: 'u-2', cId: 'acme', date: '2024-03-02T10:00:00.000Z' },
    ]);
    await track('/analytics/:tenant', { externalId: 'u-2', cId: 'acme', date: '2024-03-03' });

    const users = await endUsers();
    expect(users).toHaveLength(1);
    expect(users[0]).toMatchObject({ externalId: 'u-2', lastActive: '2024-03-03T00:00:00.000Z' });
  });

  it('moves lastActive forward only, and leaves updatedAt alone', async () => {
    const ada = (
      await api('POST', '/endusers', { email: 'ada@acme.test', companyId: acme._id })
    ).json() as Doc;

    await track('/analytics/:tenant', { email: 'ADA@acme.test', date: '2024-03-05T00:00:00Z' });
    await track('/analytics/:tenant', { email: 'ada@acme.test', date: '2024-03-04T00:00:00Z' });

    const [user] = await endUsers();
    expect(user).toMatchObject({
      _id: ada._id,
      lastActive: '2024-03-05T00:00:00.000Z',
      updatedAt: ada.updatedAt,
    });
    const after = await company();
    expect(after.lastActive).toBe('2024-03-05T00:00:00.000Z');
    expect(after.updatedAt).toBe(acme.updatedAt);

    const rows = (await api('GET', '/useractivities')).json();
    expect(rows.map((row: { enduserId: string }) => row.enduserId)).toEqual([ada._id, ada._id]);
  });

  it('finds an end user by externalId first, by email when no end user has the externalId', async () => {
    const byId = (
      await api('POST', '/endusers', {
        externalId: 'u-4',
        email: 'id@acme.test',
        companyId: acme._id,
      })
    ).json() as Doc;
    const byEmail = (
      await api('POST', '/endusers', { email: 'mail@acme.test', companyId: acme._id })
    ).json() as Doc;

    await track('/analytics/bulk/:tenant', [
      // The externalId wins over an email that names someone else.
      { externalId: 'u-4', email: 'mail@acme.test', date: '2024-03-01T00:00:00.000Z' },
      { externalId: 'u-unknown', email: 'MAIL@acme.test', date: '2024-03-02T00:00:00.000Z' },
      { email: 'id@acme.test', date: '2024-03-03T00:00:00.000Z' },
    ]);

    const rows = (await api('GET', '/useractivities')).json();
    expect(rows.map((row: { enduserId: string }) => row.enduserId)).toEqual([
      byId._id,
      byEmail._id,
      byId._id,
    ]);
    expect(await endUsers()).toHaveLength(2);
  });

  it('stores activities of people it cannot place, without creating anyone', async () => {
    const report = await track('/analytics/bulk/:tenant', [
      { externalId: 'u-3', companyExternalId: 'unknown-company' },
      { email: 'nobody@example.com' },
    ]);
    expect(report).toEqual({ processed: 2, stored: 2, errors: [] });
    expect(await endUsers()).toEqual([]);
    const rows = (await api('GET', '/useractivities')).json();
    expect(rows.map((row: { enduserId: string | null }) => row.enduserId)).toEqual([null, null]);
  });

  it('creates the end user a Segment identify call names', async () => {
    const basic = {
      authorization: `Basic ${Buffer.from(`${t.seed.workspace.tenantToken}:`).toString('base64')}`,
    };
    await track(
      '/dock/segment',
      {
        type: 'identify',
        userId: 'seg-1',
        traits: { email: 'grace@acme.test', companyId: 'acme' },
      },
      basic,
    );
    expect(await endUsers()).toEqual([
      expect.objectContaining({ externalId: 'seg-1', email: 'grace@acme.test' }),
    ]);
  });

  it('gives an existing end user the names a later Segment identify call carries', async () => {
    const basic = {
      authorization: `Basic ${Buffer.from(`${t.seed.workspace.tenantToken}:`).toString('base64')}`,
    };
    const ada = (
      await api('POST', '/endusers', {
        email: 'ada@acme.test',
        externalId: 'u-ada',
        firstName: 'Ada',
        lastName: 'Byron',
        companyId: acme._id,
      })
    ).json() as Doc;
    const identify = (traits: object) => ({ type: 'identify', userId: 'u-ada', traits });

    await track(
      '/dock/segment',
      { batch: [identify({ lastName: 'King' }), identify({ lastName: 'Lovelace' })] },
      basic,
    );
    await track('/dock/segment', { type: 'identify', traits: { email: 'ADA@acme.test' } }, basic);

    const [updated, ...others] = await endUsers();
    expect(others).toEqual([]);
    expect(updated).toMatchObject({
      _id: ada._id,
      firstName: 'Ada',
      lastName: 'Lovelace',
      email: 'ada@acme.test',
    });
    expect(updated?.name).toBe('Ada Lovelace');

    await track('/dock/segment', identify({ name: 'Countess of Lovelace' }), basic);
    expect((await endUsers())[0]?.name).toBe('Countess of Lovelace');
  });

  it('files custom metrics under the object they are about and its company', async () => {
    const ada = (
      await api('POST', '/endusers', {
        email: 'ada@acme.test',
        externalId: 'u-ada',
        companyId: acme._id,
      })
    ).json() as Doc;
    await track('/dimensiondata/:tenant', [
      { dimensionId: 'seats', value: 12, externalId: 'acme', date: '2024-03-01' },
      {
        dimensionId: 'logins',
        value: 3,
        externalId: 'u-ada',
        model: 'EndUser',
        date: '2024-03-02',
      },
      { dimensionId: 'seats', value: 5, externalId: 'not-yet', date: '2024-03-03' },
    ]);

    const linked = (await api('GET', `/dimensiondata?cId=${acme._id}`)).json();
    expect(linked).toEqual([
      expect.objectContaining({
        dimensionId: 'seats',
        parentId: acme._id,
        companyId: acme._id,
        companyName: 'Acme',
      }),
      expect.objectContaining({
        dimensionId: 'logins',
        model: 'EndUser',
        parentId: ada._id,
        companyId: acme._id,
        companyName: 'Acme',
      }),
    ]);
    const unlinked = (await api('GET', '/dimensiondata?cId=extid-not-yet')).json();
    expect(unlinked).toEqual([
      expect.objectContaining({ value: 5, parentId: null, companyId: null, companyName: null }),
    ]);
  });
});
