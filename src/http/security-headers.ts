import type { FastifyInstance } from 'fastify';
import helmet from 'helmet';

export interface SecurityHeaderOptions {
  /** Strict-Transport-Security, only where the server is reached over HTTPS. */
  hsts: boolean;
}

/**
 * Helmet's headers on every answer. The middleware is built once: the Fastify wrapper
 * rebuilds it, Content-Security-Policy parsing included, for every request, which cost
 * as much as a record read.
 */
export function addSecurityHeaders(app: FastifyInstance, options: SecurityHeaderOptions): void {
  const apply = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        scriptSrc: ["'self'"],
      },
    },
    hsts: options.hsts,
  });
  app.addHook('onRequest', (request, reply, done) => {
    apply(request.raw, reply.raw, (error) => done(error as Error | undefined));
  });
}
