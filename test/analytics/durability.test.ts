import { afterEach, describe, expect, it } from 'vitest';
import { listWorkspaces } from '../../src/workspaces/workspace.repository.js';
import { startServerProcess, type ServerProcess } from '../helpers/server-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database.js';

const BATCH = 2_000;
const SENDERS = 3;

function databaseUrl(testDb: TestDatabase): string {
  const target = testDb.target;
  return target.dialect === 'sqlite' ? `sqlite:${target.path}` : target.url;
}

function batchBody(batch: number): string {
  const items = Array.from({ length: BATCH }, (_, i) => ({
    externalId: `user-${i % 200}`,
    action: `batch-${batch}`,
    date: new Date(1_700_000_000_000 + i).toISOString(),
    info: { i },
  }));
  return JSON.stringify(items);
}

/** Rows stored per batch, from the `action` each batch's items carry. */
async function storedPerBatch(testDb: TestDatabase): Promise<Map<string, number>> {
  const rows = await testDb.database.db
    .selectFrom('user_activities')
    .select(['action', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('action')
    .execute();
  return new Map(rows.map((row) => [row.action, Number(row.n)]));
}

describe('durability of acknowledged analytics posts', () => {
  let testDb: TestDatabase | undefined;
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    await testDb?.drop();
  });

  it('loses no acknowledged item when the server is killed with SIGKILL mid-stream', async () => {
    testDb = await createTestDatabase();
    const env = { DATABASE_URL: databaseUrl(testDb), ADMIN_PASSWORD: 'durability test password' };
    server = await startServerProcess(env);
    const [workspace] = await listWorkspaces(testDb.database.db);
    if (workspace === undefined) throw new Error('the server seeded no workspace');
    const path = `/analytics/bulk/${workspace.tenantToken}`;
    const url = `${server.url}${path}`;

    const acknowledged: number[] = [];
    let next = 0;
    const send = async () => {
      for (;;) {
        const batch = next;
        next += 1;
        try {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: batchBody(batch),
          });
          const report = (await response.json()) as { stored?: number };
          if (response.status === 200 && report.stored === BATCH) acknowledged.push(batch);
        } catch {
          return;
        }
      }
    };
    const senders = Array.from({ length: SENDERS }, send);

    // Kill at an arbitrary moment once the stream is well under way.
    while (acknowledged.length < 10) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
    server.child.kill('SIGKILL');
    await Promise.all(senders);
    expect(next).toBeGreaterThan(acknowledged.length);

    // The same database serves again after the crash, and still holds every batch it
    // acknowledged, each one whole.
    server = await startServerProcess(env);
    const after = await fetch(`${server.url}${path}`, { method: 'POST', body: batchBody(-1) });
    expect(after.status).toBe(200);

    const stored = await storedPerBatch(testDb);
    for (const batch of acknowledged) expect(stored.get(`batch-${batch}`), `${batch}`).toBe(BATCH);
    for (const [action, count] of stored) expect(count, action).toBe(BATCH);
  }, 120_000);
});
