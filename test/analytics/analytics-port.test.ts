import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { listWorkspaces } from '../../src/workspaces/workspace.repository.js';
import {
  createTestDatabase,
  withoutSchemaChanges,
  type TestDatabase,
} from '../helpers/test-database.js';

/** Sends the start of a large body over a raw socket, then hangs up. */
async function abandonUpload(base: string, path: string): Promise<void> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve) => socket.once('connect', resolve));
  const head = `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json`;
  socket.write(`${head}\r\ncontent-length: 1000000\r\n\r\n[{"email":"x@example.com"},`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('ANALYTICS_PORT', () => {
  it('is optional, and must differ from PORT', () => {
    expect(parseConfig({}).analyticsPort).toBeUndefined();
    expect(parseConfig({ ANALYTICS_PORT: '8081' }).analyticsPort).toBe(8081);
    expect(() => parseConfig({ PORT: '8081', ANALYTICS_PORT: '8081' })).toThrow(ConfigError);
    expect(() => parseConfig({ ANALYTICS_PORT: 'eighty' })).toThrow(
      'ANALYTICS_PORT must be an integer from 0 to 65535',
    );
    expect(parseConfig({}).analyticsRateLimitPerMinute).toBe(60_000);
    expect(() => parseConfig({ ANALYTICS_RATE_LIMIT_PER_MINUTE: '0' })).toThrow(ConfigError);
  });

  describe('a server with an analytics port', () => {
    let testDb: TestDatabase | undefined;
    let server: RunningServer | undefined;
    afterEach(async () => {
      await server?.close();
      await testDb?.drop();
    });

    it('serves the ingestion routes there, and nothing else', async () => {
      testDb = await createTestDatabase();
      const config = {
        ...parseConfig({ LOG_LEVEL: 'silent', ADMIN_PASSWORD: 'analytics port test' }),
        host: '127.0.0.1',
        port: 0,
        analyticsPort: 0,
        database: testDb.target,
      };
      server = await withoutSchemaChanges(() => startServer(config));
      const analyticsUrl = server.analyticsUrl ?? '';
      expect(analyticsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(analyticsUrl).not.toBe(server.url);
      const [workspace] = await listWorkspaces(testDb.database.db);
      const tenant = workspace?.tenantToken ?? '';

      const post = (base: string, path: string, body: unknown, headers = {}) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const basic = `Basic ${Buffer.from(`${tenant}:`).toString('base64')}`;

      const ingested = [
        await post(analyticsUrl, `/analytics/${tenant}`, { email: 'a@example.com' }),
        await post(analyticsUrl, `/analytics/bulk/${tenant}/`, [{ email: 'b@example.com' }]),
        await post(analyticsUrl, `/dimensiondata/${tenant}?v=1`, {
          dimensionId: 'seats',
          value: 3,
          externalId: 'acme',
        }),
        await post(analyticsUrl, `/${tenant}/dimensiondata`, []),
        await post(
          analyticsUrl,
          '/dock/segment',
          { type: 'track', userId: 'u' },
          {
            authorization: basic,
          },
        ),
        await post(server.url, `/analytics/${tenant}`, { email: 'c@example.com' }),
        await post(analyticsUrl, `/dock/${tenant}`, [{ email: 'e@example.com' }]),
        await post(analyticsUrl, `/dock/metrics/${tenant}`, []),
      ];
      expect(ingested.map((response) => response.status)).toEqual(Array(8).fill(200));
      expect(await ingested[0]?.json()).toEqual({ processed: 1, stored: 1, errors: [] });

      const preflight = await fetch(`${analyticsUrl}/analytics/${tenant}`, { method: 'OPTIONS' });
      expect(preflight.status).toBe(204);

      const unknown = await post(
        analyticsUrl,
        '/analytics/00000000-0000-4000-8000-000000000000',
        {},
      );
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: 'tenant_token_invalid' });

      for (const path of ['/healthz', '/useractivities', '/dimensiondata', '/', '/docs']) {
        const response = await fetch(`${analyticsUrl}${path}`);
        expect(response.status, path).toBe(404);
        expect(await response.json()).toMatchObject({ error: 'route_not_found' });
      }
      expect((await post(analyticsUrl, '/auth/login', { email: 'a', password: 'b' })).status).toBe(
        404,
      );
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

      // A client that gives up halfway through its body leaves nothing behind.
      await abandonUpload(analyticsUrl, `/analytics/bulk/${tenant}`);
      expect(
        (await post(analyticsUrl, `/analytics/${tenant}`, { email: 'd@example.com' })).status,
      ).toBe(200);

      const rows = await testDb.database.db.selectFrom('user_activities').select('email').execute();
      expect(rows).toHaveLength(6);
    });
  });
});
