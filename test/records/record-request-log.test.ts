import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { only, recordsFixture, type RecordsFixture } from './record-helpers.js';

/** What record routes add to their requests' rows in the app's request log. */

let f: RecordsFixture;

beforeAll(async () => {
  f = await recordsFixture();
});
afterAll(async () => {
  await f.t.close();
});

async function lastRow() {
  await f.t.app.requestLog.flush();
  return f.t.testDb.database.db
    .selectFrom('request_logs')
    .selectAll()
    .where('app_id', '=', f.appId)
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
}

describe('request log rows of record routes', () => {
  it('name the model, the operation and the ignored fields', async () => {
    await f.api('POST', '/companies', { name: 'Logged', colour: 'red', mrr: 1 });
    expect(await lastRow()).toMatchObject({
      route: '/companies',
      model: 'Company',
      operation: 'record.company.create',
      action: 'create',
      status: 200,
      ignored_fields: '["colour","mrr"]',
    });
  });

  it('count what a bulk upsert created, updated and refused', async () => {
    await f.api('PUT', '/companies', [
      { name: 'New', externalId: 'log-1' },
      { externalId: 'log-1', phase: 'x' },
      { externalId: 'log-2' },
    ]);
    expect(await lastRow()).toMatchObject({
      operation: 'record.company.bulkUpsert',
      action: 'create,update',
      status: 206,
      created_count: 1,
      updated_count: 1,
      error_count: 1,
    });
  });

  it('record a refused request with the permission it lacked', async () => {
    const viewer = await f.withToken(only({ Company: { view: true } }), 'Viewer');
    await viewer('DELETE', '/companies/extid-log-1');
    await f.t.app.requestLog.flush();
    const row = await f.t.testDb.database.db
      .selectFrom('request_logs')
      .selectAll()
      .where('operation', '=', 'record.company.delete')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 403, missing_permission: 'Company.remove' });
  });

  it('give team-member and history reads their model and action', async () => {
    await f.api('GET', '/users');
    expect(await lastRow()).toMatchObject({ model: 'User', action: 'view' });
    await f.api('GET', '/companies/extid-log-1/history');
    expect(await lastRow()).toMatchObject({ model: 'Company', action: 'view' });
  });
});
