import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uiPlugin } from '../../src/ui/ui.plugin.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe('serving the web UI', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'app-center-ui-'));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function serve(root: string) {
    const app = Fastify();
    await app.register(uiPlugin, { root });
    await app.ready();
    return app;
  }

  it('says to build the UI when there is no build', async () => {
    const app = await serve(join(dir, 'missing'));
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('npm run build');
    expect((await app.inject({ url: '/_app/index.js' })).statusCode).toBe(404);
    await app.close();
  });

  it('serves the page uncached and the bundles for good', async () => {
    const root = join(dir, 'built');
    mkdirSync(join(root, '_app'), { recursive: true });
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>built</title>');
    writeFileSync(join(root, '_app', 'index-abc.js'), 'export {};');
    const app = await serve(root);

    const page = await app.inject({ url: '/' });
    expect(page.body).toContain('built');
    expect(page.headers['cache-control']).toBe('no-cache');

    const bundle = await app.inject({ url: '/_app/index-abc.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ url: '/_app/other.js' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/_app/../index.html' })).statusCode).not.toBe(200);
    await app.close();
  });

  describe('inside the app', () => {
    let testApp: TestApp;

    beforeAll(async () => {
      testApp = await createTestApp();
    });

    afterAll(() => testApp.close());

    it('is public, and leaves /assets to the Asset model', async () => {
      const page = await testApp.app.inject({ url: '/' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");

      const missing = await testApp.app.inject({ url: '/_app/nothing-here.js' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json<{ error: string }>().error).toBe('route_not_found');

      const assets = await testApp.app.inject({ url: '/assets/abc' });
      expect(assets.statusCode).toBe(401);
    });
  });
});
