import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface UiPluginOptions {
  /** The folder `vite build` wrote; defaults to `ui/dist` at the package root. */
  root?: string;
}

// The same two levels up from src/ui (tsx, tests) and from dist/ui (the build).
const DEFAULT_ROOT = fileURLToPath(new URL('../../ui/dist/', import.meta.url));
/** Where `vite build` puts the bundles: `build.assetsDir` in ui/vite.config.ts. */
const BUNDLES = '_app';
const ROUTE = {
  config: { auth: 'public', operation: 'ui.static' },
  schema: { hide: true },
} as const;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>App Center</title></head>
<body>
<h1>App Center</h1>
<p>The web UI has not been built. Run <code>npm run build</code>, then reload this page.</p>
</body>
</html>
`;

/**
 * Serves the built web UI: the page at `/`, its hashed bundles under `/_app/` (`/assets/`
 * belongs to the main API's Asset model). The UI routes with the URL hash, so no other
 * path needs the page. Whether the build exists is checked per request, so building while
 * the server runs needs no restart.
 */
export async function uiPlugin(app: FastifyInstance, options: UiPluginOptions) {
  const root = options.root ?? DEFAULT_ROOT;
  await app.register(fastifyStatic, { root, serve: false });

  app.get('/', ROUTE, async (_request, reply) => {
    if (!existsSync(join(root, 'index.html'))) {
      reply.header('cache-control', 'no-store');
      return reply.type('text/html; charset=utf-8').send(NOT_BUILT_PAGE);
    }
    // The page names the current bundles, so the browser must ask for it again each time.
    reply.header('cache-control', 'no-cache');
    return reply.sendFile('index.html', { cacheControl: false });
  });

  app.get('/favicon.svg', ROUTE, async (_request, reply) => sendOrNotFound(reply, 'favicon.svg'));

  app.get(`/${BUNDLES}/*`, ROUTE, async (request, reply) => {
    const { '*': file } = request.params as { '*': string };
    // Bundle names carry a content hash, so a browser may keep them for good.
    return sendOrNotFound(reply, `${BUNDLES}/${file}`, { maxAge: '365d', immutable: true });
  });

  function sendOrNotFound(
    reply: FastifyReply,
    file: string,
    cache: { maxAge: string; immutable: boolean } = { maxAge: '1h', immutable: false },
  ) {
    if (!existsSync(join(root, file))) return reply.callNotFound();
    return reply.sendFile(file, cache);
  }
}
