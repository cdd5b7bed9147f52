import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import { listAudit } from '../audit/audit.repository.js';
import type { Schema } from '../db/schema.js';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { requirePermission } from '../permissions/authorize.js';
import { normalizePermissions } from '../permissions/permission-set.js';
import type { TokenService } from '../tokens/token.service.js';
import {
  AppParams,
  CreateAppBody,
  CreateTokenBody,
  IssuedTokenSchema,
  PrivateAppSchema,
  RotateTokenBody,
  TokenInfoSchema,
  TokenParams,
  UpdateAppBody,
} from './private-app.schemas.js';
import type { PrivateAppService } from './private-app.service.js';

export interface PrivateAppRoutesOptions {
  db: Kysely<Schema>;
  apps: PrivateAppService;
  tokens: TokenService;
}

const ROUTE = '/manage/private-apps';
const AUTH = 'session-or-token' as const;
const WRITE_ERRORS = { 400: ErrorSchema, ...AUTH_ERRORS };

/** The management API of private apps and their tokens, for members and for apps. */
export async function privateAppRoutes(app: FastifyInstance, options: PrivateAppRoutesOptions) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { apps, tokens, db } = options;
  const tags = ['private apps'];

  typed.get(
    ROUTE,
    {
      config: { auth: AUTH, operation: 'privateApp.list' },
      schema: { tags, response: { 200: Type.Array(PrivateAppSchema), ...AUTH_ERRORS } },
    },
    async (request) => apps.list(requirePrincipal(request)),
  );

  typed.post(
    ROUTE,
    {
      config: { auth: AUTH, operation: 'privateApp.create' },
      schema: {
        tags,
        summary: 'Create a private app, its permissions copied from nothing, an app or a role',
        body: CreateAppBody,
        response: { 200: PrivateAppSchema, ...WRITE_ERRORS },
      },
    },
    async (request) => apps.create(requirePrincipal(request), request.body),
  );

  typed.get(
    `${ROUTE}/:id`,
    {
      config: { auth: AUTH, operation: 'privateApp.get' },
      schema: { tags, params: AppParams, response: { 200: PrivateAppSchema, ...AUTH_ERRORS } },
    },
    async (request) => apps.get(requirePrincipal(request), request.params.id),
  );

  typed.patch(
    `${ROUTE}/:id`,
    {
      config: { auth: AUTH, operation: 'privateApp.update' },
      schema: {
        tags,
        summary: 'Save name, description, permissions, the enabled switch, limits',
        params: AppParams,
        body: UpdateAppBody,
        response: { 200: PrivateAppSchema, ...WRITE_ERRORS },
      },
    },
    async (request) => {
      const { permissions, ...rest } = request.body;
      return apps.update(requirePrincipal(request), request.params.id, {
        ...rest,
        ...(permissions === undefined ? {} : { permissions: normalizePermissions(permissions) }),
      });
    },
  );

  typed.delete(
    `${ROUTE}/:id`,
    {
      config: { auth: AUTH, operation: 'privateApp.delete' },
      schema: {
        tags,
        summary: 'Delete a private app and all its tokens',
        params: AppParams,
        response: { 204: Type.Null(), ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      await apps.remove(requirePrincipal(request), request.params.id);
      return reply.code(204).send(null);
    },
  );

  typed.get(
    `${ROUTE}/:id/audit`,
    {
      config: { auth: AUTH, operation: 'privateApp.audit.list' },
      schema: { tags, summary: "The app's audit trail, newest first", params: AppParams },
    },
    async (request) => {
      const principal = requirePrincipal(request);
      await apps.get(principal, request.params.id);
      requirePermission(principal, 'ServiceAccount', 'view');
      return listAudit(db, principal.workspaceId, {
        targetType: 'ServiceAccount',
        targetId: request.params.id,
      });
    },
  );

  typed.get(
    `${ROUTE}/:id/tokens`,
    {
      config: { auth: AUTH, operation: 'privateApp.token.list' },
      schema: {
        tags,
        params: AppParams,
        response: { 200: Type.Array(TokenInfoSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => tokens.list(requirePrincipal(request), request.params.id),
  );

  typed.post(
    `${ROUTE}/:id/tokens`,
    {
      config: { auth: AUTH, operation: 'privateApp.token.create' },
      schema: {
        tags,
        summary: 'Generate an API Access Token; the response is the only time it is shown',
        params: AppParams,
        body: CreateTokenBody,
        response: { 200: IssuedTokenSchema, ...WRITE_ERRORS },
      },
    },
    async (request) => tokens.create(requirePrincipal(request), request.params.id, request.body),
  );

  typed.delete(
    `${ROUTE}/:id/tokens/:tokenId`,
    {
      config: { auth: AUTH, operation: 'privateApp.token.delete' },
      schema: { tags, params: TokenParams, response: { 204: Type.Null(), ...AUTH_ERRORS } },
    },
    async (request, reply) => {
      const { id, tokenId } = request.params;
      await tokens.remove(requirePrincipal(request), id, tokenId);
      return reply.code(204).send(null);
    },
  );

  typed.post(
    `${ROUTE}/:id/tokens/:tokenId/rotate`,
    {
      config: { auth: AUTH, operation: 'privateApp.token.rotate' },
      schema: {
        tags,
        summary: 'Issue a replacement; the old token works for graceSeconds more',
        params: TokenParams,
        body: RotateTokenBody,
        response: {
          200: Type.Object({
            token: Type.String(),
            info: TokenInfoSchema,
            retiring: TokenInfoSchema,
          }),
          ...WRITE_ERRORS,
        },
      },
    },
    async (request) => {
      const { id, tokenId } = request.params;
      return tokens.rotate(requirePrincipal(request), id, tokenId, request.body.graceSeconds);
    },
  );
}
