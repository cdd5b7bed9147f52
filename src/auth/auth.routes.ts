import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../shared/errors.js';
import { findWorkspace } from '../workspaces/workspace.repository.js';
import { getMember } from '../members/member.service.js';
import { ErrorSchema } from '../http/common.schemas.js';
import { MemberSchema } from '../members/member.schemas.js';
import { isCrossSite } from './authentication.plugin.js';
import { csrfTokenFor, SESSION_TTL_MS, type SessionService } from './session.service.js';
import type { Principal } from './principal.js';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { emailKey } from '../members/member.repository.js';

export interface AuthRoutesOptions {
  db: Kysely<Schema>;
  sessions: SessionService;
  secureCookies: boolean;
  loginLimits: { perIpPerMinute: number; perAccountPerMinute: number };
}

const LoginBody = Type.Object(
  {
    email: Type.String({ minLength: 3, maxLength: 320 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const SessionResponse = Type.Object({
  member: MemberSchema,
  workspace: Type.Object({ id: Type.String(), name: Type.String() }),
  permissions: Type.Unknown(),
  csrfToken: Type.String(),
});

export async function authRoutes(app: FastifyInstance, options: AuthRoutesOptions) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const cookieName = app.sessionCookieName;

  const perIp = app.rateLimit({
    max: options.loginLimits.perIpPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => `login-ip:${request.ip}`,
  });
  const perAccount = app.rateLimit({
    max: options.loginLimits.perAccountPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => {
      const body = request.body as { email?: unknown } | undefined;
      const email = typeof body?.email === 'string' ? emailKey(body.email) : '';
      return `login-account:${email}`;
    },
  });

  async function describeSession(principal: Principal, sessionId: string) {
    const member = await getMember(
      options.db,
      { ...principal, permissions: allowSelf(principal) },
      principal.actor.id,
    );
    const workspace = await findWorkspace(options.db, principal.workspaceId);
    if (workspace === undefined) throw new AppError('session_expired');
    return {
      member,
      workspace: { id: workspace.id, name: workspace.name },
      permissions: principal.permissions,
      csrfToken: csrfTokenFor(sessionId),
    };
  }

  typed.post(
    '/auth/login',
    {
      config: { auth: 'public', operation: 'auth.login' },
      preHandler: async function limitLogins(request, reply) {
        // The plugin runs one limiter per request object, marking it as limited; the
        // account limiter gets a view of the request so that both limits apply.
        await perAccount.call(this, Object.create(request) as typeof request, reply);
        await perIp.call(this, request, reply);
      },
      schema: {
        tags: ['auth'],
        summary: 'Log in with email and password; sets the session cookie',
        body: LoginBody,
        response: { 200: SessionResponse, 401: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (request, reply) => {
      if (isCrossSite(request)) {
        throw new AppError('csrf_failed', { message: 'cross-site logins are refused' });
      }
      const { sessionId } = await options.sessions.login(request.body.email, request.body.password);
      setSessionCookie(reply, cookieName, sessionId, options.secureCookies);
      const principal = await options.sessions.resolve(sessionId);
      if (principal === undefined) throw new AppError('session_expired');
      request.principal = principal;
      return describeSession(principal, sessionId);
    },
  );

  typed.post(
    '/auth/logout',
    {
      config: { auth: 'session', operation: 'auth.logout' },
      schema: { tags: ['auth'], summary: 'End the session', response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const sessionId = request.cookies[cookieName];
      if (sessionId !== undefined) await options.sessions.logout(sessionId);
      reply.clearCookie(cookieName, { path: '/' });
      return reply.code(204).send(null);
    },
  );

  typed.get(
    '/auth/me',
    {
      config: { auth: 'session', operation: 'auth.me' },
      schema: {
        tags: ['auth'],
        summary: 'The member, the workspace and the effective permissions of this session',
        response: { 200: SessionResponse, 401: ErrorSchema },
      },
    },
    async (request) => {
      const principal = request.principal;
      const sessionId = request.cookies[cookieName];
      if (principal === undefined || sessionId === undefined) throw new AppError('unauthenticated');
      return describeSession(principal, sessionId);
    },
  );
}

/** A member may always read their own profile, whatever their User permissions. */
function allowSelf(principal: Principal) {
  const user = principal.permissions.models.User;
  return {
    ...principal.permissions,
    models: {
      ...principal.permissions.models,
      User: { create: false, update: false, remove: false, export: false, ...user, view: true },
    },
  };
}

function setSessionCookie(reply: FastifyReply, name: string, value: string, secure: boolean) {
  reply.setCookie(name, value, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure,
    maxAge: Math.floor(SESSION_TTL_MS / 1000),
  });
}
