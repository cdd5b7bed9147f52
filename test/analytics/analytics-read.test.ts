import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allActions } from '../../src/permissions/permission-set.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

const VIEW = { create: false, view: true, update: false, remove: false, export: false };
const READER = { models: { DimensionData: VIEW, UserActivity: VIEW }, fields: {} };
const COMPANY_ID = '65a0f0c0e4b0a1b2c3d4e5f6';

describe('reading analytics back through the main API', () => {
  let t: TestApp;
  let admin: Session;
  let token: string;
  beforeEach(async () => {
    t = await createTestApp();
    admin = await t.login();
    token = (await createAppWithToken(t, admin, READER, 'Reader')).token;
  });
  afterEach(async () => {
    await t.close();
  });

  const ingest = async (path: string, payload: object) => {
    const url = `/${path}/${t.seed.workspace.tenantToken}`;
    const response = await t.app.inject({ method: 'POST', url, payload });
    expect(response.json().errors).toEqual([]);
  };
  const get = (url: string, headers: Record<string, string> = bearer(token)) =>
    t.app.inject({ method: 'GET', url, headers });

  describe('GET /dimensiondata', () => {
    beforeEach(async () => {
      await ingest('dimensiondata', [
        { dimensionId: 'seats', value: 10, externalId: 'acme', date: '2024-02-28' },
        { dimensionId: 'seats', value: 11, externalId: 'acme', date: '2024-02-29T13:00:00Z' },
        { dimensionId: 'seats', value: 7, externalId: 'globex', date: '2024-03-01' },
        { dimensionId: 'logins', value: 3, externalId: 'acme', date: '2024-02-29' },
        { dimensionId: 'logins', value: 5, id: COMPANY_ID, date: '2024-02-29' },
      ]);
    });

    it('answers every value oldest first, in the shape Planhat clients read', async () => {
      const response = await get('/dimensiondata');
      expect(response.statusCode).toBe(200);
      const rows = response.json();
      expect(rows).toHaveLength(5);
      expect(rows[0]).toEqual({
        _id: expect.stringMatching(/^[0-9a-f]{24}$/),
        dimensionId: 'seats',
        value: 10,
        model: 'Company',
        externalId: 'acme',
        parentId: null,
        companyId: null,
        companyName: null,
        time: '2024-02-28T00:00:00.000Z',
        date: '2024-02-28T00:00:00.000Z',
        day: 19781,
      });
      expect(rows.map((row: { value: number }) => row.value)).toEqual([10, 3, 5, 11, 7]);
    });

    it('filters by dimension, company and day range, with limit and offset', async () => {
      const values = async (query: string) =>
        (await get(`/dimensiondata?${query}`)).json().map((row: { value: number }) => row.value);

      expect(await values('dimid=seats')).toEqual([10, 11, 7]);
      expect(await values('dimid=seats&from=19782&to=19782')).toEqual([11]);
      expect(await values('from=19782')).toEqual([3, 5, 11, 7]);
      expect(await values('cId=extid-acme')).toEqual([10, 3, 11]);
      expect(await values(`cId=${COMPANY_ID}`)).toEqual([5]);
      expect(await values('limit=2&offset=1')).toEqual([3, 5]);
      expect(await values('limit=100000')).toHaveLength(5);
    });

    it('refuses bad query values', async () => {
      expect((await get('/dimensiondata?from=yesterday')).statusCode).toBe(400);
      expect((await get('/dimensiondata?limit=0')).statusCode).toBe(400);
    });
  });

  describe('records named by sourceId', () => {
    beforeEach(async () => {
      const models = { Company: allActions(), EndUser: allActions() };
      const writer = (await createAppWithToken(t, admin, { models, fields: {} }, 'CRM')).token;
      const create = async (url: string, payload: object) => {
        const response = await t.app.inject({
          method: 'POST',
          url,
          payload,
          headers: bearer(writer),
        });
        expect(response.statusCode).toBe(200);
        return response.json() as { _id: string };
      };
      const acme = await create('/companies', {
        name: 'Acme',
        externalId: 'acme',
        sourceId: 'crm-acme',
      });
      await create('/endusers', {
        email: 'ada@acme.test',
        externalId: 'u-1',
        sourceId: 'crm-ada',
        companyId: acme._id,
      });
      await ingest('dimensiondata', [
        { dimensionId: 'seats', value: 10, externalId: 'acme', date: '2024-02-28' },
        { dimensionId: 'seats', value: 7, externalId: 'globex', date: '2024-02-28' },
      ]);
      await ingest('analytics/bulk', [
        { externalId: 'u-1', companyExternalId: 'acme', action: 'Login', date: '2024-01-01' },
        { email: 'x@globex.test', cId: 'globex', action: 'Export', date: '2024-01-02' },
      ]);
    });

    it('filters dimension data by srcid-<sourceId> of the company', async () => {
      const values = async (cId: string) =>
        (await get(`/dimensiondata?cId=${cId}`)).json().map((row: { value: number }) => row.value);

      expect(await values('srcid-crm-acme')).toEqual([10]);
      expect(await values('srcid-crm-globex')).toEqual([]);
      expect(await values('srcid-crm-ada')).toEqual([]);
    });

    it('filters activities by srcid-<sourceId> of the company or the end user', async () => {
      const actions = async (query: string) =>
        (await get(`/useractivities?${query}`)).json().map((row: { action: string }) => row.action);

      expect(await actions('companyId=srcid-crm-acme')).toEqual(['Login']);
      expect(await actions('enduserId=srcid-crm-ada')).toEqual(['Login']);
      expect(await actions('endUserId=srcid-crm-ada&action=Export')).toEqual([]);
      expect(await actions('enduserId=srcid-crm-acme')).toEqual([]);
      expect(await actions('companyId=srcid-nobody')).toEqual([]);
    });
  });

  describe('GET /useractivities', () => {
    beforeEach(async () => {
      await ingest('analytics/bulk', [
        { externalId: 'u-1', companyExternalId: 'acme', action: 'Login', date: '2024-01-01' },
        { externalId: 'u-2', companyExternalId: 'acme', action: 'Export', date: '2024-01-03' },
        { email: 'x@globex.test', cId: 'globex', action: 'Login', date: '2024-01-02' },
        {
          externalId: 'u-1',
          action: 'Export',
          date: '2024-01-04T10:00:00.000Z',
          info: { rows: 3 },
        },
      ]);
    });

    it('answers activities newest first', async () => {
      const response = await get('/useractivities');
      expect(response.statusCode).toBe(200);
      const rows = response.json();
      expect(rows.map((row: { time: string }) => row.time)).toEqual([
        '2024-01-04T10:00:00.000Z',
        '2024-01-03T00:00:00.000Z',
        '2024-01-02T00:00:00.000Z',
        '2024-01-01T00:00:00.000Z',
      ]);
      expect(rows[0]).toEqual({
        _id: expect.stringMatching(/^[0-9a-f]{24}$/),
        time: '2024-01-04T10:00:00.000Z',
        action: 'Export',
        weight: 1,
        count: 1,
        email: null,
        externalId: 'u-1',
        companyExternalId: null,
        name: null,
        enduserId: null,
        companyId: null,
        info: { rows: 3 },
        receivedAt: expect.stringMatching(/Z$/),
      });
    });

    it('filters by company, end user, action and time range', async () => {
      const actions = async (query: string) =>
        (await get(`/useractivities?${query}`))
          .json()
          .map((row: { action: string; time: string }) => `${row.action}@${row.time.slice(0, 10)}`);

      expect(await actions('companyExternalId=acme')).toEqual([
        'Export@2024-01-03',
        'Login@2024-01-01',
      ]);
      expect(await actions('companyId=extid-globex')).toEqual(['Login@2024-01-02']);
      expect(await actions('externalId=u-1')).toEqual(['Export@2024-01-04', 'Login@2024-01-01']);
      expect(await actions('enduserId=extid-u-2')).toEqual(['Export@2024-01-03']);
      expect(await actions('email=x@globex.test')).toEqual(['Login@2024-01-02']);
      expect(await actions('action=Login')).toEqual(['Login@2024-01-02', 'Login@2024-01-01']);
      expect(await actions('from=2024-01-02&to=2024-01-03')).toEqual([
        'Export@2024-01-03',
        'Login@2024-01-02',
      ]);
      const from = Date.parse('2024-01-03');
      expect(await actions(`from=${from}`)).toEqual(['Export@2024-01-04', 'Export@2024-01-03']);
      expect(await actions('limit=1&offset=1')).toEqual(['Export@2024-01-03']);
    });

    it('refuses a time it cannot read', async () => {
      const response = await get('/useractivities?from=soon');
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'validation_failed', field: 'from' });
    });
  });

  it('needs the view permission of each model, and an API token', async () => {
    const metricsOnly = await createAppWithToken(
      t,
      admin,
      { models: { DimensionData: VIEW }, fields: {} },
      'Metrics only',
    );
    expect((await get('/dimensiondata', bearer(metricsOnly.token))).statusCode).toBe(200);
    const denied = await get('/useractivities', bearer(metricsOnly.token));
    expect(denied.statusCode).toBe(403);
    expect(denied.json().message).toBe('requires UserActivity.view');

    expect((await get('/dimensiondata', {})).statusCode).toBe(401);
    const withCookie = await t.as(admin, { method: 'GET', url: '/useractivities' });
    expect(withCookie.statusCode).toBe(401);
    const withTenantToken = await get('/useractivities', bearer(t.seed.workspace.tenantToken));
    expect(withTenantToken.statusCode).toBe(401);
  });

  it("never shows another workspace's data", async () => {
    const other = await t.seedWorkspace('Globex', 'admin@globex.test');
    await t.app.inject({
      method: 'POST',
      url: `/analytics/${other.workspace.tenantToken}`,
      payload: { email: 'g@globex.test' },
    });
    await t.app.inject({
      method: 'POST',
      url: `/dimensiondata/${other.workspace.tenantToken}`,
      payload: { dimensionId: 'seats', value: 1, externalId: 'globex' },
    });
    expect((await get('/useractivities')).json()).toEqual([]);
    expect((await get('/dimensiondata')).json()).toEqual([]);
  });
});
