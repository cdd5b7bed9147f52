import type { FastifyInstance } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { findMember, listMembers, type Member } from '../members/member.repository.js';
import { requirePermission } from '../permissions/authorize.js';
import { notFound } from '../shared/errors.js';
import { isHidden, redactHidden } from './field-rules.js';
import { getModel } from './model-catalogue.js';
import { csvCell, EXPORT_CONTENT_TYPES, exportFormat } from './record-export.js';
import { applySelect, parseListQuery, parseRecordKey } from './record-validation.js';
import { rulesFor } from './record.service.js';
import { validationError } from './record-writes.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const user = getModel('User');

const UserSchema = Type.Object(
  {
    _id: Type.String(),
    email: Type.String(),
    firstName: Type.String(),
    lastName: Type.String(),
    nickName: Type.String(),
    roles: Type.Array(Type.String()),
    inactive: Type.Boolean(),
  },
  { additionalProperties: true, description: 'A team member, as Planhat shows users' },
);

/** A team member in Planhat's user shape. */
function toUser(member: Member): Record<string, unknown> {
  const shape: Record<keyof typeof toUserShape, unknown> = {
    _id: member.id,
    email: member.email,
    firstName: member.firstName,
    lastName: member.lastName,
    nickName: member.nickname,
    roles: member.roleIds,
    inactive: member.inactive,
    isHidden: false,
    createdAt: member.createdAt,
    updatedAt: member.updatedAt,
  };
  return shape;
}

/** The fields of a user, in order: the columns of a CSV export. */
const toUserShape = {
  _id: true,
  email: true,
  firstName: true,
  lastName: true,
  nickName: true,
  roles: true,
  inactive: true,
  isHidden: true,
  createdAt: true,
  updatedAt: true,
} as const;

/**
 * `GET /users` and `/users/{id}`: the workspace's team members, read-only. Private apps
 * are not team members and never appear here.
 */
export async function userRoutes(app: FastifyInstance, options: { db: Kysely<Schema> }) {
  const { db } = options;

  app.get(
    '/users',
    {
      config: { auth: 'token', operation: 'record.user.list' },
      schema: {
        tags: ['records'],
        summary: 'List team members',
        response: { 200: Type.Array(UserSchema), 400: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      requirePermission(principal, 'User', 'view');
      request.requestLogExtras = { model: 'User' };
      const parsed = parseListQuery(user, { ...(request.query as object) });
      if (!parsed.ok) throw validationError(parsed.errors);
      const query = parsed.value;
      const rules = rulesFor(principal, user);

      let users = (await listMembers(db, principal.workspaceId)).map(toUser);
      for (const filter of query.filters) {
        if (isHidden(filter.field, rules)) {
          throw validationError([
            { field: filter.param, code: 'invalid_value', message: `${filter.param} is hidden` },
          ]);
        }
        const wanted = new Set(filter.values.map((value) => value.trim().toLowerCase()));
        users = users.filter((candidate) => {
          const value = candidate[filter.field];
          return typeof value === 'string' && wanted.has(value.trim().toLowerCase());
        });
      }
      const sortField = isHidden(query.sort.field, rules) ? '_id' : query.sort.field;
      const direction = query.sort.direction === 'asc' ? 1 : -1;
      users.sort((a, b) => direction * compare(a[sortField], b[sortField]));

      const select = query.select?.filter((field) => !isHidden(field, rules));
      const page = users
        .slice(query.offset, query.offset + query.limit)
        .map((candidate) => applySelect(redactHidden(candidate, rules), select));
      return reply.header('content-type', JSON_TYPE).send(JSON.stringify(page));
    },
  );

  app.get(
    '/users/export',
    {
      config: { auth: 'token', operation: 'record.user.export' },
      schema: {
        tags: ['records'],
        summary: 'Export every team member as NDJSON or CSV (format= or Accept)',
        response: { 400: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      requirePermission(principal, 'User', 'export');
      request.requestLogExtras = { model: 'User' };
      const query = request.query as { format?: unknown };
      const format = exportFormat(query.format, request.headers.accept);
      const rules = rulesFor(principal, user);
      const users = (await listMembers(db, principal.workspaceId)).map((member) =>
        redactHidden(toUser(member), rules),
      );
      const columns = Object.keys(toUserShape).filter((field) => !isHidden(field, rules));
      const body =
        format === 'csv'
          ? [columns, ...users.map((row) => columns.map((column) => row[column]))]
              .map((cells) => `${cells.map(csvCell).join(',')}\r\n`)
              .join('')
          : users.map((row) => `${JSON.stringify(row)}\n`).join('');
      return reply
        .header('content-type', EXPORT_CONTENT_TYPES[format])
        .header('content-disposition', `attachment; filename="users.${format}"`)
        .send(body);
    },
  );

  app.get<{ Params: { key: string } }>(
    '/users/:key',
    {
      config: { auth: 'token', operation: 'record.user.get' },
      schema: {
        tags: ['records'],
        summary: 'Get one team member',
        params: Type.Object({ key: Type.String() }),
        response: { 200: UserSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const principal = requirePrincipal(request);
      requirePermission(principal, 'User', 'view');
      request.requestLogExtras = { model: 'User' };
      const key = parseRecordKey(request.params.key, 'plain');
      const member =
        key.kind === 'id' ? await findMember(db, principal.workspaceId, key.value) : undefined;
      if (member === undefined) throw notFound('User');
      const visible = redactHidden(toUser(member), rulesFor(principal, user));
      return reply.header('content-type', JSON_TYPE).send(JSON.stringify(visible));
    },
  );
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}
