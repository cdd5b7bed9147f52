import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Loop turns without a new connection or request after which nothing more is waiting. */
const QUIET_TURNS = 2;
/** Under steady arrivals the drain stops here; later arrivals may be refused. */
const MAX_DRAIN_MS = 1_000;

/**
 * Shuts down without resetting a request that reached the server before the signal.
 *
 * Closing the server resets the connections still in the listen backlog, and Node then
 * destroys every connection it counts as idle, which includes one whose request sits
 * unread in its socket behind a busy event loop. So the server first turns the loop until
 * a turn accepts no connection and starts no request (Node may accept just one
 * connection a turn); the requests drained so are served like any other, since the app turns off
 * Fastify's 503 while closing.
 *
 * Keep-alive sockets that were busy when shutdown began would otherwise stay open after
 * their last response and hold the close until the grace period runs out. Answers sent
 * while closing tell the client to close the connection.
 */
export function closeConnectionsOnShutdown(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    await drainArrived(app.server);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

async function drainArrived(server: Server): Promise<void> {
  let arrivals = 0;
  const arrived = () => {
    arrivals += 1;
  };
  server.on('connection', arrived);
  server.on('request', arrived);
  try {
    const until = performance.now() + MAX_DRAIN_MS;
    let quiet = 0;
    while (quiet < QUIET_TURNS && performance.now() < until) {
      const before = arrivals;
      await new Promise((resolve) => setImmediate(resolve));
      quiet = arrivals === before ? quiet + 1 : 0;
    }
  } finally {
    server.off('connection', arrived);
    server.off('request', arrived);
  }
}
