import type { FastifyRequest } from 'fastify';

/**
 * The token a request presents: `Authorization: Bearer <token>`, or Basic with the token
 * as user name and an empty password, as Planhat clients send it. Tokens are never read
 * from the query string, where they would end up in proxy and browser logs.
 */
export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return '';
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value;
  if (scheme !== 'basic') return '';
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? decoded : decoded.slice(0, colon);
}
