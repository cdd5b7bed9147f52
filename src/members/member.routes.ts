import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { AUTH_ERRORS, ErrorSchema, IdParams } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import {
  AddMemberBody,
  AddMemberResponse,
  MemberSchema,
  UpdateMemberBody,
} from './member.schemas.js';
import * as service from './member.service.js';
import type { ScryptCost } from './password.js';

export interface MemberRoutesOptions {
  db: Kysely<Schema>;
  passwordCost: ScryptCost;
}

/** Team members. Private apps are not members and never appear here. */
export async function memberRoutes(app: FastifyInstance, options: MemberRoutesOptions) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db, passwordCost } = options;

  typed.get(
    '/manage/members',
    {
      config: { auth: 'session-or-token', operation: 'member.list' },
      schema: {
        tags: ['team'],
        summary: 'List team members',
        response: { 200: Type.Array(MemberSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => service.listMembers(db, requirePrincipal(request)),
  );

  typed.post(
    '/manage/members',
    {
      config: { auth: 'session-or-token', operation: 'member.create' },
      schema: {
        tags: ['team'],
        summary: 'Add a team member',
        body: AddMemberBody,
        response: { 200: AddMemberResponse, 400: ErrorSchema, 409: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => service.addMember(db, requirePrincipal(request), request.body, passwordCost),
  );

  typed.get(
    '/manage/members/:id',
    {
      config: { auth: 'session-or-token', operation: 'member.get' },
      schema: {
        tags: ['team'],
        params: IdParams,
        response: { 200: MemberSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => service.getMember(db, requirePrincipal(request), request.params.id),
  );

  typed.patch(
    '/manage/members/:id',
    {
      config: { auth: 'session-or-token', operation: 'member.update' },
      schema: {
        tags: ['team'],
        summary: 'Update a team member; `inactive: true` deactivates and ends their sessions',
        params: IdParams,
        body: UpdateMemberBody,
        response: { 200: MemberSchema, 400: ErrorSchema, 409: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request) =>
      service.updateMember(
        db,
        requirePrincipal(request),
        request.params.id,
        request.body,
        passwordCost,
      ),
  );
}
