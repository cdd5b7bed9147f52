import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { AUTH_ERRORS, ErrorSchema, IdParams } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { normalizePermissions } from '../permissions/permission-set.js';
import { CreateRoleBody, DeleteRoleQuery, RoleSchema, UpdateRoleBody } from './role.schemas.js';
import * as service from './role.service.js';

export async function roleRoutes(app: FastifyInstance, options: { db: Kysely<Schema> }) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = options;

  typed.get(
    '/manage/roles',
    {
      config: { auth: 'session-or-token', operation: 'role.list' },
      schema: { tags: ['roles'], response: { 200: Type.Array(RoleSchema), ...AUTH_ERRORS } },
    },
    async (request) => service.listRoles(db, requirePrincipal(request)),
  );

  typed.post(
    '/manage/roles',
    {
      config: { auth: 'session-or-token', operation: 'role.create' },
      schema: {
        tags: ['roles'],
        summary: 'Create a custom role; it may grant only what the caller holds',
        body: CreateRoleBody,
        response: { 200: RoleSchema, 400: ErrorSchema, 409: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request) =>
      service.createRole(db, requirePrincipal(request), {
        ...request.body,
        permissions: normalizePermissions(request.body.permissions),
      }),
  );

  typed.get(
    '/manage/roles/:id',
    {
      config: { auth: 'session-or-token', operation: 'role.get' },
      schema: { tags: ['roles'], params: IdParams, response: { 200: RoleSchema, ...AUTH_ERRORS } },
    },
    async (request) => service.getRole(db, requirePrincipal(request), request.params.id),
  );

  typed.patch(
    '/manage/roles/:id',
    {
      config: { auth: 'session-or-token', operation: 'role.update' },
      schema: {
        tags: ['roles'],
        params: IdParams,
        body: UpdateRoleBody,
        response: { 200: RoleSchema, 400: ErrorSchema, 409: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => {
      const { permissions, ...rest } = request.body;
      return service.updateRole(db, requirePrincipal(request), request.params.id, {
        ...rest,
        ...(permissions === undefined ? {} : { permissions: normalizePermissions(permissions) }),
      });
    },
  );

  typed.delete(
    '/manage/roles/:id',
    {
      config: { auth: 'session-or-token', operation: 'role.delete' },
      schema: {
        tags: ['roles'],
        summary: 'Delete a role; a role in use needs `moveTo`, the role its members move to',
        params: IdParams,
        querystring: DeleteRoleQuery,
        response: { 204: Type.Null(), 409: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      await service.deleteRole(
        db,
        requirePrincipal(request),
        request.params.id,
        request.query.moveTo,
      );
      return reply.code(204).send(null);
    },
  );
}
