import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel } from '../../src/records/model-catalogue.js';
import { openRecordStorage } from '../../src/records/record.repository.js';
import {
  deleteRecord,
  findByKey,
  flushAudits,
  loadContext,
} from '../../src/records/record-writes.js';
import { MODEL_SAMPLES } from './model-samples.js';
import { recordsFixture, type RecordsFixture } from './record-helpers.js';

/**
 * Deleting a company deletes the records that cannot exist without it, in the same
 * transaction, each with its own audit event; records that may lack a company outlive it.
 */

/** Models whose records outlive their company: an NPS response, an issue of several. */
const OUTLIVE = new Set(['Nps', 'Issue']);

let f: RecordsFixture;
let counter = 0;
const next = () => `${Date.now().toString(36)}-del-${++counter}`;

beforeAll(async () => {
  f = await recordsFixture();
});
afterAll(async () => {
  await f.t.close();
});

/** A company with one record of every model that can belong to it, ticket included. */
async function companyWithChildren() {
  const n = next();
  const company = (await f.api('POST', '/companies', { name: `Parent ${n}` })).json();
  const children: Array<{ path: string; model: string; id: string }> = [];
  for (const sample of MODEL_SAMPLES) {
    if (sample.model === 'Company' || sample.model === 'CustomField') continue;
    const created = await f.api('POST', `/${sample.path}`, sample.create(company._id, n));
    expect(created.statusCode, created.body).toBe(200);
    children.push({ path: sample.path, model: sample.model, id: created.json()._id });
  }
  const ticket = { companyId: company._id, sourceId: `zd-${n}`, email: `t-${n}@x.test` };
  const upserted = await f.api('PUT', '/tickets', [ticket]);
  const ticketId = upserted.json().upsertedIds[0];
  children.push({ path: 'conversations', model: 'Conversation', id: ticketId });
  return { company, children, ticketId, n };
}

describe('DELETE /companies/{key}', () => {
  it('deletes the records that need the company, and keeps the others', async () => {
    const { company, children, ticketId } = await companyWithChildren();
    const other = (await f.api('POST', '/companies', { name: 'Neighbour' })).json();
    const sample = MODEL_SAMPLES.find((s) => s.model === 'EndUser');
    const neighbour = (await f.api('POST', '/endusers', sample?.create(other._id, next()))).json();

    const deleted = await f.api('DELETE', `/companies/${company._id}`);
    expect(deleted.json()).toEqual({ n: 1, ok: 1, deletedCount: 1 });

    for (const child of children) {
      const read = await f.api('GET', `/${child.path}/${child.id}`);
      expect([child.model, read.statusCode]).toEqual([
        child.model,
        OUTLIVE.has(child.model) ? 200 : 404,
      ]);
    }
    expect((await f.api('GET', `/tickets?companyId=${company._id}`)).json()).toEqual([]);
    expect((await f.api('GET', `/endusers/${neighbour._id}`)).statusCode).toBe(200);

    const history = (await f.api('GET', `/conversations/${ticketId}/history`)).json();
    expect(history[0]).toMatchObject({
      action: 'delete',
      actor: { type: 'app', id: f.appId, name: 'Integration' },
    });
  });

  it('leaves company and children in place when the delete rolls back', async () => {
    const { company, children } = await companyWithChildren();
    const database = f.t.testDb.database;
    const workspaceId = await workspaceOf(company._id);
    const actor = { type: 'app' as const, id: f.appId, name: 'Integration' };
    const base = { workspaceId, actor, model: getModel('Company'), rules: undefined };
    const failure = new Error('abort after the cascade');

    await expect(
      openRecordStorage(database).write(function* () {
        const ctx = yield* loadContext(base);
        const row = yield* findByKey(ctx, { kind: 'id', value: company._id });
        yield* deleteRecord(ctx, row);
        yield* flushAudits(ctx);
        throw failure;
      }),
    ).rejects.toBe(failure);

    expect((await f.api('GET', `/companies/${company._id}`)).statusCode).toBe(200);
    for (const child of children) {
      expect((await f.api('GET', `/${child.path}/${child.id}`)).statusCode).toBe(200);
    }
    const history = (await f.api('GET', `/companies/${company._id}/history`)).json();
    expect(history.map((event: { action: string }) => event.action)).toEqual(['create']);
  });
});

async function workspaceOf(companyId: string): Promise<string> {
  const row = await f.t.testDb.database.db
    .selectFrom('records')
    .select('workspace_id')
    .where('id', '=', companyId)
    .executeTakeFirstOrThrow();
  return row.workspace_id;
}
