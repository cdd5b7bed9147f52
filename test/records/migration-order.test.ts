import { Migrator, type Kysely, type Migration } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import * as foundation from '../../src/db/migrations/0001-foundation.js';
import * as privateApps from '../../src/db/migrations/0002-private-apps.js';
import * as requestLogs from '../../src/db/migrations/0004-request-logs.js';
import * as analytics from '../../src/db/migrations/0005-analytics.js';
import { openRecordStorage } from '../../src/records/record.repository.js';
import type { RecordRow } from '../../src/records/record-store.js';
import { newObjectId } from '../../src/records/record-validation.js';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
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

type DialectMigration = (typeof EARLIER_BUILD)[keyof typeof EARLIER_BUILD];

async function migrateAsEarlierBuild(database: Database): Promise<void> {
  await migrateWith(database, EARLIER_BUILD);
}

async function migrateWith(
  database: Database,
  build: Record<string, DialectMigration>,
): Promise<void> {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(build)) {
    migrations[name] = { up: (db: Kysely<unknown>) => migration.up(db, database.dialect) };
  }
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: async () => migrations },
    ...(database.schema === undefined ? {} : { migrationTableSchema: database.schema }),
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
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

    expect(await migrateToLatest(database)).toEqual(['0003-records']);
    expect(await migrateToLatest(database)).toEqual([]);

    const workspaceId = await seedWorkspace(database);
    const company = row(workspaceId, 'Company', { name: 'Kept' });
    const storage = openRecordStorage(database);
    await storage.insertMany([company]);
    expect(await storage.docById(workspaceId, 'Company', company.id)).toBe(company.doc);
  });
});
