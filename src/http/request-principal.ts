import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';
import { AppError } from '../shared/errors.js';

/** The authenticated principal; routes only reach here after the authentication hook. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (request.principal === undefined) throw new AppError('unauthenticated');
  return request.principal;
}
