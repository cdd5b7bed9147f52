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
  it('refuses a taken key without changing anything, and keeps the write going', async () => {
    const kept = row({ sourceId: 'kept', externalId: 'e-kept' });
    const moved = row({ sourceId: 'moved' });
    const after = row();
    const outcome = await storage.write(function* () {
      yield* call('insert', kept);
      yield* call('insert', moved);
      const bySource = yield* call('insert', row({ sourceId: 'kept' }));
      const byExternal = yield* call('insert', row({ externalId: 'e-kept' }));
      let updateRefused = false;
      try {
        yield* call('update', { ...moved, sourceId: 'kept', doc: '{"changed":true}' });
      } catch (error) {
        updateRefused = error instanceof DuplicateKeyError && error.key === 'sourceId';
      }
      yield* call('insert', after);
      return { bySource, byExternal, updateRefused };
    });
    expect(outcome).toEqual({
      bySource: 'sourceId',
      byExternal: 'externalId',
      updateRefused: true,
    });
    expect(await storage.docById(workspaceId, 'Company', kept.id)).toBeDefined();
    expect(await storage.docById(workspaceId, 'Company', moved.id)).toBe(moved.doc);
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

  it('scopes externalId to the company for child records', async () => {
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
    const taken = await storage.write(function* () {
      return yield* call('insert', row({ model: 'Asset', externalId: 'a', companyId: 'c1' }));
    });
    expect(taken).toBe('externalId');
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
          const refused = yield* call('insert', row({ sourceId: 'race', doc: `{"i":${i}}` }));
          return refused === undefined ? 'created' : 'duplicate';
        })
        .catch(() => 'error'),
    );
    const outcomes = await Promise.all(writes);
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(1);
    expect(outcomes).not.toContain('error');
  });
});
