import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getModel } from '../../src/records/model-catalogue.js';
import { openRecordStorage } from '../../src/records/record.repository.js';
import type { RecordRow } from '../../src/records/record-store.js';
import { newObjectId } from '../../src/records/record-validation.js';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
import { TEST_PASSWORD_COST } from '../helpers/test-app.js';
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
 * transaction, each with its own audit event; records that may lack a company outlive it
 * and stop naming it, each change audited as the deleter's.
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

  it('takes the company out of the issues and NPS responses that outlive it', async () => {
    const { company, children } = await companyWithChildren();
    const other = (await f.api('POST', '/companies', { name: 'Also affected' })).json();
    const idOf = (model: string) => children.find((child) => child.model === model)?.id ?? '';
    const shared = await f.api('POST', '/issues', {
      title: 'Shared bug',
      sourceId: `jira-shared-${next()}`,
      archived: false,
      companyIds: [other._id, company._id],
    });
    expect(shared.statusCode, shared.body).toBe(200);
    const untouched = await f.api('POST', '/issues', {
      title: 'Elsewhere',
      sourceId: `jira-else-${next()}`,
      archived: false,
      companyIds: [other._id],
    });
    const untouchedBefore = untouched.json();

    expect((await f.api('DELETE', `/companies/${company._id}`)).statusCode).toBe(200);

    const nps = (await f.api('GET', `/nps/${idOf('Nps')}`)).json();
    expect(nps).not.toHaveProperty('cId');
    expect(nps).toMatchObject({ score: 9, updatedBy: { type: 'app', id: f.appId } });
    expect((await f.api('GET', `/nps?companyId=${company._id}`)).json()).toEqual([]);
    const issue = (await f.api('GET', `/issues/${idOf('Issue')}`)).json();
    expect(issue.companyIds).toEqual([]);
    const sharedAfter = (await f.api('GET', `/issues/${shared.json()._id}`)).json();
    expect(sharedAfter.companyIds).toEqual([other._id]);
    expect(sharedAfter.__v).toBe(shared.json().__v);
    const untouchedAfter = (await f.api('GET', `/issues/${untouchedBefore._id}`)).json();
    expect(untouchedAfter).toEqual(untouchedBefore);

    const actor = { type: 'app', id: f.appId, name: 'Integration' };
    for (const [path, id, fields] of [
      ['nps', idOf('Nps'), ['cId']],
      ['issues', idOf('Issue'), ['companyIds']],
      ['issues', shared.json()._id, ['companyIds']],
    ] as const) {
      const history = (await f.api('GET', `/${path}/${id}/history`)).json();
      expect(history.map((event: { action: string }) => event.action)).toEqual([
        'update',
        'create',
      ]);
      expect(history[0]).toMatchObject({ actor, fields });
    }
    const untouchedHistory = (await f.api('GET', `/issues/${untouchedBefore._id}/history`)).json();
    expect(untouchedHistory).toHaveLength(1);
  });

  it("leaves another workspace's records that name the company id alone", async () => {
    const { company } = await companyWithChildren();
    const database = f.t.testDb.database;
    const { workspace } = await initWorkspace(database.db, {
      workspaceName: 'Elsewhere',
      adminEmail: `admin-${next()}@elsewhere.test`,
      adminPassword: 'correct horse battery staple',
      passwordCost: TEST_PASSWORD_COST,
    });
    const issue = storedRow(workspace.id, 'Issue', null, { companyIds: [company._id] });
    const nps = storedRow(workspace.id, 'Nps', company._id, { cId: company._id, score: 3 });
    const storage = openRecordStorage(database);
    await storage.insertMany([issue, nps]);

    expect((await f.api('DELETE', `/companies/${company._id}`)).statusCode).toBe(200);

    expect(await storage.docById(workspace.id, 'Issue', issue.id)).toBe(issue.doc);
    expect(await storage.docById(workspace.id, 'Nps', nps.id)).toBe(nps.doc);
    const [kept] = await storage.find(workspace.id, 'Nps', { kind: 'id', value: nps.id });
    expect(kept?.companyId).toBe(company._id);
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

function storedRow(
  workspaceId: string,
  model: string,
  companyId: string | null,
  fields: Record<string, unknown>,
): RecordRow {
  const id = newObjectId();
  const at = '2024-01-01T00:00:00.000Z';
  return {
    workspaceId,
    model,
    id,
    externalId: null,
    sourceId: null,
    companyId,
    email: null,
    doc: JSON.stringify({ _id: id, ...fields, createdAt: at, updatedAt: at, __v: 0 }),
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}
