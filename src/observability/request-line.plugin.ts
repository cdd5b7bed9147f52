import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Metrics } from './metrics.js';

/**
 * One structured line per request. It names the route pattern, never the raw URL, since
 * paths can carry a Tenant Token and query strings can carry anything.
 */
export const requestLinePlugin = fp<{ metrics: Metrics }>(
  async (app: FastifyInstance, { metrics }) => {
    app.decorateRequest('errorCode', undefined);

    app.addHook('onSend', async (request, reply) => {
      reply.header('x-request-id', request.id);
      if (request.principal !== undefined) reply.header('cache-control', 'no-store');
    });

    app.addHook('onResponse', async (request, reply) => {
      const operation = request.routeOptions.config.operation ?? 'unmatched';
      const status = reply.statusCode;
      const seconds = reply.elapsedTime / 1000;
      metrics.requests.inc({ operation, status: String(status) });
      metrics.duration.observe({ operation }, seconds);

      const principal = request.principal;
      const line = {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        operation,
        status,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        workspace: principal?.workspaceId,
        actor:
          principal === undefined ? undefined : `${principal.actor.type}:${principal.actor.id}`,
        error: request.errorCode,
      };
      if (status >= 500) request.log.error(line, 'request completed');
      else if (status >= 400) request.log.info(line, 'request completed');
      else request.log.info(line, 'request completed');
    });
  },
  { name: 'request-line' },
);
