import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from '../shared/errors.js';
import type { AuthMode } from '../http/route-config.js';
import type { AppPrincipal } from './principal.js';
import { csrfTokenFor, type SessionService } from './session.service.js';
import { timingSafeEqual } from 'node:crypto';

/** Authenticates an API Access Token; throws an AppError saying why it was refused. */
export interface TokenAuthenticator {
  authenticate(request: FastifyRequest): Promise<AppPrincipal>;
}

export interface AuthenticationOptions {
  sessions: SessionService;
  tokens: TokenAuthenticator;
  cookieName: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const CSRF_HEADER = 'x-csrf-token';

/** A route as declared: what the security suites walk to cover every route. */
export interface DeclaredRoute {
  method: string;
  url: string;
  auth: AuthMode;
  operation: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    sessionCookieName: string;
    declaredRoutes: DeclaredRoute[];
  }
}

/**
 * Puts the principal on every request according to the route's declared `auth` mode.
 * Session cookies are read only where the mode allows them, so a cookie is never a
 * credential on the main API and a token never opens a session route.
 */
export const authenticationPlugin = fp<AuthenticationOptions>(
  async (app: FastifyInstance, options) => {
    app.decorateRequest('principal', undefined);
    app.decorate('sessionCookieName', options.cookieName);
    const declared: DeclaredRoute[] = [];
    app.decorate('declaredRoutes', declared);

    app.addHook('onRoute', (route) => {
      const config = route.config as { auth?: AuthMode; operation?: string } | undefined;
      if (config?.auth === undefined || config.operation === undefined) {
        throw new Error(`route ${route.method} ${route.url} declares no auth mode or operation`);
      }
      for (const method of [route.method].flat()) {
        declared.push({ method, url: route.url, auth: config.auth, operation: config.operation });
      }
    });

    app.addHook('onRequest', async (request) => {
      const mode = request.routeOptions.config.auth;
      switch (mode) {
        case 'token':
          request.principal = await options.tokens.authenticate(request);
          return;
        case 'session':
          await authenticateSession(request, options);
          return;
        case 'session-or-token':
          if (request.headers.authorization !== undefined) {
            request.principal = await options.tokens.authenticate(request);
          } else {
            await authenticateSession(request, options);
          }
          return;
        default:
          return;
      }
    });
  },
  { name: 'authentication' },
);

async function authenticateSession(
  request: FastifyRequest,
  options: AuthenticationOptions,
): Promise<void> {
  const sessionId = request.cookies[options.cookieName];
  if (sessionId === undefined || sessionId === '') throw new AppError('unauthenticated');
  const principal = await options.sessions.resolve(sessionId);
  if (principal === undefined) throw new AppError('session_expired');
  if (!SAFE_METHODS.has(request.method)) checkCsrf(request, sessionId);
  request.principal = principal;
}

/**
 * Two defences for cookie-authenticated writes: browsers that send Fetch Metadata must
 * say the request is same-origin, and every write must carry the session's CSRF token,
 * which a cross-site page cannot read.
 */
function checkCsrf(request: FastifyRequest, sessionId: string): void {
  if (isCrossSite(request)) {
    throw new AppError('csrf_failed', { message: 'cross-site requests are refused' });
  }
  const sent = request.headers[CSRF_HEADER];
  const expected = csrfTokenFor(sessionId);
  if (typeof sent !== 'string' || !safeEqual(sent, expected)) {
    throw new AppError('csrf_failed', { message: `the ${CSRF_HEADER} header is missing or wrong` });
  }
}

/**
 * Whether the browser says the request comes from another site: Fetch Metadata where the
 * browser sends it, else an Origin that is not this server's own.
 */
export function isCrossSite(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (origin === undefined) return false;
  if (!URL.canParse(origin)) return true;
  return new URL(origin).host !== request.host;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
