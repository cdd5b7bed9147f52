import type { FastifyInstance } from 'fastify';

/**
 * Keep-alive sockets that were busy when shutdown began would otherwise stay open after
 * their last response and hold the close until the grace period runs out. Answers sent
 * while closing tell the client to close the connection.
 */
export function closeConnectionsOnShutdown(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}
