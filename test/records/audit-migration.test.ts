import { afterEach, describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/audit/audit.repository.js';
import type { Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import * as foundation from '../../src/db/migrations/0001-foundation.js';
import * as privateApps from '../../src/db/migrations/0002-private-apps.js';
import * as records from '../../src/db/migrations/0003-records.js';
import * as requestLogs from '../../src/db/migrations/0004-request-logs.js';
import * as analytics from '../../src/db/migrations/0005-analytics.js';
import * as tickets from '../../src/db/migrations/0006-tickets-as-conversations.js';
import type { Actor } from '../../src/auth/principal.js';
import { openRecordStorage } from '../../src/records/record.repository.js';
import { newObjectId } from '../../src/records/record-validation.js';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
import { migrateAsBuild } from '../helpers/migrate-build.js';
import { TEST_PASSWORD_COST } from '../helpers/test-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

/** Every migration before the audit table was narrowed. */
const BEFORE = {
  '0001-foundation': foundation,
  '0002-private-apps': privateApps,
  '0003-records': records,
  '0004-request-logs': requestLogs,
  '0005-analytics': analytics,
  '0006-tickets-as-conversations': tickets,
};

async function migrateBefore(database: Database): Promise<void> {
  await migrateAsBuild(database, BEFORE);
}

const ACTOR: Actor = { type: 'app', id: 'app-1', name: 'Sync' };

let testDb: TestDatabase | undefined;
afterEach(async () => {
  await testDb?.drop();
  testDb = undefined;
});

describe('0007-audit-indexes', () => {
  it('keeps the records and audit events written before it, in their order', async () => {
    testDb = await createTestDatabase(migrateBefore);
    const { database } = testDb;
    const { workspace } = await initWorkspace(database.db, {
      workspaceName: 'Upgraded',
      adminEmail: 'admin@upgraded.test',
      adminPassword: 'correct horse battery staple',
      passwordCost: TEST_PASSWORD_COST,
    });
    const workspaceId = workspace.id;
    const id = newObjectId();
    const doc = JSON.stringify({ _id: id, name: 'Kept', externalId: 'k-1' });
    const storage = openRecordStorage(database);
    await storage.insertMany([
      {
        workspaceId,
        model: 'Company',
        id,
        externalId: 'k-1',
        sourceId: null,
        companyId: null,
        email: null,
        doc,
        createdAt: '2024-01-01T00:00:00.000Z',
        updatedAt: '2024-01-01T00:00:00.000Z',
        version: 1,
      },
    ]);
    const event = { workspaceId, actor: ACTOR, targetType: 'record.Company', targetId: id };
    await recordAudit(database.db, { ...event, action: 'record.create' });
    await recordAudit(database.db, { ...event, action: 'record.update', changes: { n: 1 } });
    const before = await listAudit(database.db, workspaceId, { targetId: id });

    expect(await migrateToLatest(database)).toEqual(['0007-audit-indexes']);

    expect(await storage.docById(workspaceId, 'Company', id)).toBe(doc);
    const [found] = await storage.find(workspaceId, 'Company', {
      kind: 'externalId',
      value: 'k-1',
    });
    expect(found?.id).toBe(id);
    const after = await listAudit(database.db, workspaceId, { targetId: id });
    expect(after).toEqual(before);
    expect(after.map((row) => row.action)).toEqual(['record.update', 'record.create']);

    // Events written after the migration still come first, newest first.
    await recordAudit(database.db, { ...event, action: 'record.delete' });
    const latest = await listAudit(database.db, workspaceId, { targetId: id });
    expect(latest.map((row) => row.action)).toEqual([
      'record.delete',
      'record.update',
      'record.create',
    ]);
    const apps = await listAudit(database.db, workspaceId, { targetType: 'record.Company' });
    expect(apps).toHaveLength(3);
    if (database.sqlite !== undefined) {
      const indexes = database.sqlite.pragma('index_list(audit_events)') as { name: string }[];
      expect(indexes.map((index) => index.name)).toEqual(['audit_events_target']);
    }
  });
});
