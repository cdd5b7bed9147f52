import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createAnalyticsWriter,
  type ActivityRow,
  type AnalyticsWriter,
  type MetricRow,
} from '../../src/analytics/analytics.repository.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const WORKSPACE = 'w-writer';

function activity(action: string): ActivityRow {
  return {
    time: Date.UTC(2024, 0, 1),
    action,
    weight: 1,
    count: 1,
    email: null,
    externalId: 'u-1',
    companyExternalId: null,
    name: null,
    endUserId: null,
    companyId: null,
    info: null,
  };
}

function metric(dimensionId: string): MetricRow {
  return {
    dimensionId,
    value: 1,
    model: 'Company',
    externalId: 'acme',
    objectId: null,
    companyId: null,
    time: Date.UTC(2024, 0, 1),
    day: 19723,
  };
}

describe('the analytics writer', () => {
  let testDb: TestDatabase;
  let writer: AnalyticsWriter;
  beforeEach(async () => {
    testDb = await createTestDatabase();
    writer = createAnalyticsWriter(testDb.database);
  });
  afterEach(async () => {
    await testDb.drop();
  });

  const actions = async () =>
    (await testDb.database.db.selectFrom('user_activities').select('action').execute()).map(
      (row) => row.action,
    );

  it('stores writes made at the same moment, each acknowledged after its commit', async () => {
    const writes = Array.from({ length: 50 }, (_, i) =>
      writer.insertActivities(WORKSPACE, Date.now(), [activity(`a-${i}`)]),
    );
    await Promise.all(writes);
    expect((await actions()).sort()).toEqual(Array.from({ length: 50 }, (_, i) => `a-${i}`).sort());
  });

  it('fails a refused write alone, keeping the ones beside it', async () => {
    const broken = { ...metric('x'), dimensionId: null } as unknown as MetricRow;
    const results = await Promise.allSettled([
      writer.insertMetrics(WORKSPACE, Date.now(), [metric('before')]),
      writer.insertMetrics(WORKSPACE, Date.now(), [metric('bad-batch'), broken]),
      writer.insertMetrics(WORKSPACE, Date.now(), [metric('after')]),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);

    const rows = await testDb.database.db
      .selectFrom('dimension_data')
      .select('dimension_id')
      .execute();
    expect(rows.map((row) => row.dimension_id).sort()).toEqual(['after', 'before']);
  });

  it('writes a large batch whole', async () => {
    const rows = Array.from({ length: 5_003 }, (_, i) => activity(`bulk-${i % 7}`));
    await writer.insertActivities(WORKSPACE, Date.now(), rows);
    expect(await actions()).toHaveLength(5_003);
  });
});
