import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { createAppWithToken } from '../helpers/private-apps.js';
import type { TestApp } from '../helpers/test-app.js';
import { createLogTestApp, logEntry, seedRows, storedRows } from './log-helpers.js';

const DAY = 86_400_000;

describe('request log retention', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('is configured in days, 90 unless REQUEST_LOG_RETENTION_DAYS says otherwise', () => {
    expect(parseConfig({}).requestLogRetentionDays).toBe(90);
    expect(parseConfig({ REQUEST_LOG_RETENTION_DAYS: '30' }).requestLogRetentionDays).toBe(30);
    for (const value of ['0', '-1', '7.5', 'forever', '3651']) {
      expect(() => parseConfig({ REQUEST_LOG_RETENTION_DAYS: value }), value).toThrow(ConfigError);
    }
  });

  async function seedHistory(t: TestApp): Promise<number> {
    const admin = await t.login();
    const app = await createAppWithToken(t, admin, { models: {}, fields: {} });
    const other = await t.seedWorkspace('Other', 'admin@other.test');
    const otherApp = await createAppWithToken(t, await t.login(other.admin.email), {
      models: {},
      fields: {},
    });
    const now = Date.now();
    const here = { workspaceId: t.seed.workspace.id, appId: app.id, tokenId: app.tokenId };
    const there = { workspaceId: other.workspace.id, appId: otherApp.id, tokenId: 'x' };
    const rows = [];
    for (let i = 0; i < 23; i += 1) rows.push(logEntry(here, { at: now - 100 * DAY + i }));
    for (let i = 0; i < 11; i += 1) rows.push(logEntry(there, { at: now - 91 * DAY + i }));
    rows.push(logEntry(here, { at: now - 89 * DAY, path: '/kept-1' }));
    rows.push(logEntry(there, { at: now, path: '/kept-2' }));
    await seedRows(t, rows);
    return now;
  }

  it('deletes rows past the retention in small batches, in every workspace', async () => {
    t = await createLogTestApp({ requestLog: { retentionBatchRows: 5 } });
    const now = await seedHistory(t);
    expect(await t.app.requestLog.purgeExpired(now)).toBe(34);
    expect((await storedRows(t)).map((row) => row.path)).toEqual(['/kept-1', '/kept-2']);
    expect(await t.app.requestLog.purgeExpired(now)).toBe(0);
    expect(await t.app.requestLog.purgeExpired(now + 2 * DAY)).toBe(1);
  });

  it('runs by itself on a timer', async () => {
    t = await createLogTestApp({ requestLog: { retentionIntervalMs: 50, retentionBatchRows: 4 } });
    await seedHistory(t);
    const deadline = Date.now() + 5_000;
    let left = (await storedRows(t)).length;
    while (left > 2 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = (await storedRows(t)).length;
    }
    expect(left).toBe(2);
  });
});
