import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { PermissionSetSchema } from '../permissions/permission-set.schema.js';
import { AppError } from '../shared/errors.js';
import { findWorkspace } from '../workspaces/workspace.repository.js';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import type { TokenService } from './token.service.js';

const ProfileSchema = Type.Object({
  type: Type.Literal('privateApp'),
  _id: Type.String(),
  name: Type.String(),
  workspace: Type.Object({ id: Type.String(), name: Type.String() }),
  permissions: PermissionSetSchema,
  token: Type.Object({
    id: Type.String(),
    hint: Type.String(),
    expiresAt: Type.Union([Type.String(), Type.Null()]),
  }),
});

export async function tokenRoutes(
  app: FastifyInstance,
  options: { db: Kysely<Schema>; tokens: TokenService; revokePerMinute: number },
) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db, tokens } = options;

  typed.get(
    '/myprofile',
    {
      config: { auth: 'token', operation: 'token.profile' },
      schema: {
        tags: ['tokens'],
        summary: 'Who this token is: its private app, workspace, permissions and hint',
        response: { 200: ProfileSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      if (principal.kind !== 'app') throw new AppError('unauthenticated');
      const workspace = await findWorkspace(db, principal.workspaceId);
      const token = await db
        .selectFrom('api_tokens')
        .select('expires_at')
        .where('workspace_id', '=', principal.workspaceId)
        .where('id', '=', principal.tokenId)
        .executeTakeFirst();
      return {
        type: 'privateApp' as const,
        _id: principal.appId,
        name: principal.actor.name,
        workspace: { id: principal.workspaceId, name: workspace?.name ?? '' },
        permissions: principal.permissions,
        token: {
          id: principal.tokenId,
          hint: principal.tokenHint,
          expiresAt: token?.expires_at ?? null,
        },
      };
    },
  );

  typed.post(
    '/tokens/revoke',
    {
      config: {
        auth: 'public',
        operation: 'token.revokeLeaked',
        rateLimit: { max: options.revokePerMinute, timeWindow: 60_000 },
      },
      schema: {
        tags: ['tokens'],
        summary: 'Revoke leaked tokens: whoever holds a token may end it',
        body: Type.Object(
          { tokens: Type.Array(Type.String({ maxLength: 200 }), { minItems: 1, maxItems: 100 }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ ok: Type.Boolean() }), 400: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (request) => {
      await tokens.revokePresented(request.body.tokens);
      return { ok: true };
    },
  );
}
