import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initWorkspace } from '../../src/workspaces/workspace.service.js';
import { openRecordStorage, type RecordStorage } from '../../src/records/record.repository.js';
import { call, DuplicateKeyError, type RecordRow } from '../../src/records/record-store.js';
import { newObjectId } from '../../src/records/record-validation.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';
import { TEST_PASSWORD_COST } from '../helpers/test-app.js';

/** The storage layer on its own: savepoints, unique keys and transactions, on both databases. */

let testDb: TestDatabase;
let storage: RecordStorage;
let workspaceId: string;

beforeEach(async () => {
  testDb = await createTestDatabase();
  storage = openRecordStorage(testDb.database);
  const seeded = await initWorkspace(testDb.database.db, {
    workspaceName: 'Storage',
    adminEmail: 'admin@storage.test',
    adminPassword: 'correct horse battery staple',
    passwordCost: TEST_PASSWORD_COST,
  });
  workspaceId = seeded.workspace.id;
});
afterEach(async () => {
  await testDb.drop();
});

function row(fields: Partial<RecordRow> = {}): RecordRow {
  const id = newObjectId();
  return {
    workspaceId,
    model: 'Company',
    id,
    externalId: null,
    sourceId: null,
    companyId: null,
    email: null,
    doc: JSON.stringify({ _id: id, name: 'Row' }),
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    version: 1,
    ...fields,
  };
}

describe('record storage', () => {
  it('undoes every write of a savepoint when a later one fails, and keeps going', async () => {
    const kept = row({ sourceId: 'kept' });
    const undone = row();
    const after = row();
    const outcome = await storage.write(function* () {
      yield* call('insert', kept);
      yield* call('savepoint', true);
      let refused = false;
      try {
        yield* call('insert', undone);
        yield* call('insert', row({ sourceId: 'kept' }));
      } catch (error) {
        refused = error instanceof DuplicateKeyError && error.key === 'sourceId';
        yield* call('rollback');
      }
      yield* call('insert', after);
      return refused;
    });
    expect(outcome).toBe(true);
    expect(await storage.docById(workspaceId, 'Company', kept.id)).toBeDefined();
    expect(await storage.docById(workspaceId, 'Company', undone.id)).toBeUndefined();
    expect(await storage.docById(workspaceId, 'Company', after.id)).toBeDefined();
  });

  it('rolls the whole write back when it throws', async () => {
    const first = row();
    await expect(
      storage.write(function* () {
        yield* call('insert', first);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await storage.docById(workspaceId, 'Company', first.id)).toBeUndefined();
  });

  it('names the unique key a write collides with', async () => {
    await storage.insertMany([row({ externalId: 'e1' }), row({ sourceId: 's1' })]);
    for (const [fields, key] of [
      [{ externalId: 'e1' }, 'externalId'],
      [{ sourceId: 's1' }, 'sourceId'],
    ] as const) {
      const attempt = storage.write(function* () {
        yield* call('insert', row(fields));
      });
      await expect(attempt).rejects.toMatchObject({ name: 'DuplicateKeyError', key });
    }
    // externalId is unique within a company for child records.
    await storage.insertMany([
      row({ model: 'Asset', externalId: 'a', companyId: 'c1' }),
      row({ model: 'Asset', externalId: 'a', companyId: 'c2' }),
    ]);
    const found = await storage.find(workspaceId, 'Asset', { kind: 'externalId', value: 'a' });
    expect(found).toHaveLength(2);
    const scoped = await storage.find(workspaceId, 'Asset', {
      kind: 'externalId',
      value: 'a',
      companyId: 'c2',
    });
    expect(scoped.map((item) => item.companyId)).toEqual(['c2']);
  });

  it('runs concurrent writes one after another without mixing them', async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      storage
        .write(function* () {
          const taken = yield* call('find', workspaceId, 'Company', {
            kind: 'sourceId',
            value: 'race',
          });
          if (taken.length > 0) return 'matched';
          yield* call('insert', row({ sourceId: 'race', doc: JSON.stringify({ i }) }));
          return 'created';
        })
        .catch((error: unknown) => (error instanceof DuplicateKeyError ? 'duplicate' : 'error')),
    );
    const outcomes = await Promise.all(writes);
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
    expect(outcomes).not.toContain('error');
  });
});
