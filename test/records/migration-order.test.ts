import { afterEach, describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/audit/audit.repository.js';
import type { Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import * as foundation from '../../src/db/migrations/0001-foundation.js';
import * as privateApps from '../../src/db/migrations/0002-private-apps.js';
import * as records from '../../src/db/migrations/0003-records.js';
import * as requestLogs from '../../src/db/migrations/0004-request-logs.js';
import * as analytics from '../../src/db/migrations/0005-analytics.js';
import { openRecordStorage } from '../../src/records/record.repository.js';
import type { RecordRow } from '../../src/records/record-store.js';
import { newObjectId } from '../../src/records/record-validation.js';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
import { migrateAsBuild } from '../helpers/migrate-build.js';
import { TEST_PASSWORD_COST } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/**
 * The builds before the records migration shipped 0001, 0002, 0004 and 0005: their
 * databases must still migrate to the latest version.
 */
const EARLIER_BUILD = {
  '0001-foundation': foundation,
  '0002-private-apps': privateApps,
  '0004-request-logs': requestLogs,
  '0005-analytics': analytics,
};

/** The build that stored tickets as a model of their own. */
const TICKETS_APART = { ...EARLIER_BUILD, '0003-records': records };

async function migrateAsEarlierBuild(database: Database): Promise<void> {
  await migrateAsBuild(database, EARLIER_BUILD);
}

function row(workspaceId: string, model: string, fields: Record<string, unknown>): RecordRow {
  const id = newObjectId();
  const doc = { _id: id, ...fields, createdAt: '2024-01-01T00:00:00.000Z', __v: 0 };
  return {
    workspaceId,
    model,
    id,
    externalId: null,
    sourceId: typeof fields.sourceId === 'string' ? fields.sourceId : null,
    companyId: typeof fields.companyId === 'string' ? fields.companyId : null,
    email: null,
    doc: JSON.stringify(doc),
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    version: 1,
  };
}

async function seedWorkspace(database: Database): Promise<string> {
  const { workspace } = await initWorkspace(database.db, {
    workspaceName: 'Upgraded',
    adminEmail: 'admin@upgraded.test',
    adminPassword: 'correct horse battery staple',
    passwordCost: TEST_PASSWORD_COST,
  });
  return workspace.id;
}

let testDb: TestDatabase | undefined;
afterEach(async () => {
  await testDb?.drop();
  testDb = undefined;
});

describe('migrations', () => {
  it('adds the records migration to a database an earlier build made', async () => {
    testDb = await createTestDatabase(migrateAsEarlierBuild);
    const { database } = testDb;

    expect(await migrateToLatest(database)).toEqual([
      '0003-records',
      '0006-tickets-as-conversations',
      '0007-audit-indexes',
    ]);
    expect(await migrateToLatest(database)).toEqual([]);

    const workspaceId = await seedWorkspace(database);
    const company = row(workspaceId, 'Company', { name: 'Kept' });
    const storage = openRecordStorage(database);
    await storage.insertMany([company]);
    expect(await storage.docById(workspaceId, 'Company', company.id)).toBe(company.doc);
  });

  it('turns the tickets of an earlier build into conversations of type ticket', async () => {
    testDb = await createTestDatabase((database) => migrateAsBuild(database, TICKETS_APART));
    const { database } = testDb;
    const workspaceId = await seedWorkspace(database);
    const company = row(workspaceId, 'Company', { name: 'Acme' });
    const fields = { companyId: company.id, sourceId: 'zd-1', title: 'Help', type: 'incident' };
    const ticket = row(workspaceId, 'Ticket', fields);
    const note = row(workspaceId, 'Conversation', { companyId: company.id, sourceId: 'zd-2' });
    const clash = row(workspaceId, 'Ticket', { companyId: company.id, sourceId: 'zd-2' });
    const storage = openRecordStorage(database);
    await storage.insertMany([company, ticket, note, clash]);
    const actor = { type: 'system' as const, id: 'system', name: 'System' };
    const created = { workspaceId, actor, action: 'record.create', targetId: ticket.id };
    await recordAudit(database.db, { ...created, targetType: 'record.Ticket' });

    expect(await migrateToLatest(database)).toEqual([
      '0006-tickets-as-conversations',
      '0007-audit-indexes',
    ]);

    const moved = await storage.docById(workspaceId, 'Conversation', ticket.id);
    expect(JSON.parse(moved ?? '{}')).toEqual({
      _id: ticket.id,
      companyId: company.id,
      sourceId: 'zd-1',
      title: 'Help',
      type: 'ticket',
      createdAt: '2024-01-01T00:00:00.000Z',
      __v: 0,
    });
    expect(Object.keys(JSON.parse(moved ?? '{}')).at(-3)).toBe('type');
    expect(await storage.docById(workspaceId, 'Ticket', ticket.id)).toBeUndefined();
    const history = await listAudit(database.db, workspaceId, { targetId: ticket.id });
    expect(history.map((event) => event.targetType)).toEqual(['record.Conversation']);
    // A sourceId that a conversation holds already keeps its ticket where it was.
    expect(await storage.docById(workspaceId, 'Ticket', clash.id)).toBe(clash.doc);
    expect(await storage.docById(workspaceId, 'Conversation', note.id)).toBe(note.doc);
  });
});
