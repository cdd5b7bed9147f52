import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Database } from '../db/database.js';
import { AppError } from '../shared/errors.js';
import type { Metrics } from './metrics.js';

export async function healthRoutes(
  app: FastifyInstance,
  options: { database: Database; metrics: Metrics },
) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { database, metrics } = options;
  const Status = Type.Object({ status: Type.String() });

  typed.get(
    '/healthz',
    {
      config: { auth: 'public', operation: 'health.live' },
      schema: { tags: ['health'], summary: 'The process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  typed.get(
    '/readyz',
    {
      config: { auth: 'public', operation: 'health.ready' },
      schema: { tags: ['health'], summary: 'The database answers', response: { 200: Status } },
    },
    async (request) => {
      try {
        await database.ping();
      } catch (error) {
        request.log.warn({ err: error }, 'database not reachable');
        throw new AppError('unavailable', { message: 'The database is not reachable' });
      }
      return { status: 'ready' };
    },
  );

  typed.get(
    '/metrics',
    {
      config: { auth: 'public', operation: 'metrics' },
      schema: { tags: ['health'], summary: 'Prometheus metrics', hide: true },
    },
    async (_request, reply) => {
      const pool = database.pool;
      if (pool !== undefined) {
        metrics.dbPool.set({ state: 'total' }, pool.totalCount);
        metrics.dbPool.set({ state: 'idle' }, pool.idleCount);
        metrics.dbPool.set({ state: 'waiting' }, pool.waitingCount);
      }
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
