import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { INGESTION_PATHS } from './analytics.routes.js';

export interface AnalyticsListener {
  port: number;
  close(): Promise<void>;
}

const NOT_HERE = JSON.stringify({
  error: 'route_not_found',
  message: 'This port serves only the analytics endpoints; the API is on the main port',
});

/**
 * Listens on a second port that hands ingestion requests to the app's own router (same
 * hooks, rate limits and logs) and answers 404 to everything else, since real clients
 * keep a separate analytics base URL. The app must be ready.
 */
export async function listenForAnalytics(
  app: FastifyInstance,
  options: { port: number; host: string; requestTimeoutMs: number },
): Promise<AnalyticsListener> {
  let closing = false;
  const inFlight = new Set<ServerResponse>();

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    // Once closing, each answer tells its client to close the connection, so that
    // keep-alive sockets do not hold the shutdown open.
    if (closing) response.setHeader('connection', 'close');
    const url = request.url ?? '';
    const ingestion = request.method === 'POST' || request.method === 'OPTIONS';
    if (ingestion && INGESTION_PATHS.some((path) => path.test(url))) {
      inFlight.add(response);
      response.once('close', () => inFlight.delete(response));
      app.routing(request, response);
      return;
    }
    // The path may hold a Tenant Token, so the line names neither path nor URL.
    app.log.info(
      { method: request.method, route: 'unmatched', status: 404, port: 'analytics' },
      'request completed',
    );
    response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    response.end(NOT_HERE);
  });
  server.requestTimeout = options.requestTimeoutMs;
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        for (const response of inFlight) {
          if (!response.headersSent) response.setHeader('connection', 'close');
        }
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
