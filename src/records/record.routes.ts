import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { Database } from '../db/database.js';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { allows, MODEL_DEFINITIONS, getModel, type ModelDefinition } from './model-catalogue.js';
import { exportRecords } from './record-export.js';
import { DELETE_ANSWER, RecordService } from './record.service.js';
import { userRoutes } from './users.routes.js';

export interface RecordRoutesOptions {
  database: Database;
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** Lists the body fields the server ignored; the request log keeps them too. */
export const IGNORED_FIELDS_HEADER = 'x-ignored-fields';
const MAX_HEADER_FIELDS = 50;
const MAX_HEADER_LENGTH = 2_000;

interface KeyRoute {
  Params: { key: string };
}

const KeyParams = Type.Object({
  key: Type.String({ description: 'An _id, extid-<externalId> or srcid-<sourceId>' }),
});
const RecordSchema = Type.Object(
  { _id: Type.String() },
  { additionalProperties: true, description: 'A record with the fields of its model' },
);
const ErrorItem = Type.Object(
  {
    index: Type.Integer(),
    item: Type.Unknown(),
    error: Type.String(),
    field: Type.Optional(Type.String()),
    permission: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
const Keys = Type.Object({
  _id: Type.String(),
  externalId: Type.Optional(Type.String()),
  sourceId: Type.Optional(Type.String()),
});
const UpsertReportSchema = Type.Object(
  {
    created: Type.Integer(),
    createdErrors: Type.Array(ErrorItem),
    insertsKeys: Type.Array(Keys),
    updated: Type.Integer(),
    updatedErrors: Type.Array(ErrorItem),
    updatesKeys: Type.Array(Keys),
    nonupdates: Type.Integer(),
    modified: Type.Array(Type.String()),
    upsertedIds: Type.Array(Type.String()),
    permissionErrors: Type.Array(ErrorItem),
  },
  { description: 'The Planhat bulk upsert report; 206, 400 and 403 answer with it too' },
);
const DeleteAnswer = Type.Object({
  n: Type.Integer(),
  ok: Type.Integer(),
  deletedCount: Type.Integer(),
});
const HistoryEventSchema = Type.Object({
  _id: Type.String(),
  at: Type.String(),
  action: Type.String(),
  actor: Type.Object({ type: Type.String(), id: Type.String(), name: Type.String() }),
  fields: Type.Array(Type.String()),
});

/** `endUser` for `EndUser`: the model part of operation names such as `record.endUser.get`. */
function operationModel(model: ModelDefinition): string {
  return model.name.charAt(0).toLowerCase() + model.name.slice(1);
}

/**
 * Header values must be visible ASCII: other characters, commas and `%` are
 * percent-encoded as UTF-8, so any field name a body used can be listed safely.
 */
function headerSafe(name: string): string {
  let safe = '';
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== ',' && char !== '%') {
      safe += char;
      continue;
    }
    for (const byte of Buffer.from(char))
      safe += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return safe;
}

function reportIgnored(request: FastifyRequest, reply: FastifyReply, fields: readonly string[]) {
  if (fields.length === 0) return;
  const names = fields.slice(0, MAX_HEADER_FIELDS).map(headerSafe).join(', ');
  reply.header(IGNORED_FIELDS_HEADER, names.slice(0, MAX_HEADER_LENGTH));
  request.requestLogExtras = { ...request.requestLogExtras, ignoredFields: fields };
}

/** The main API's record routes: every model at its Planhat path, plus team members. */
export async function recordRoutes(app: FastifyInstance, options: RecordRoutesOptions) {
  const service = new RecordService(options.database);
  for (const model of MODEL_DEFINITIONS) {
    if (model.storage === 'records') modelRoutes(app, service, model);
  }
  leanCompanyRoutes(app, service);
  await app.register(userRoutes, { db: options.database.db });
}

function modelRoutes(app: FastifyInstance, service: RecordService, model: ModelDefinition) {
  const base = `/${model.path}`;
  const op = (verb: string) => `record.${operationModel(model)}.${verb}`;
  const tags = ['records'];

  if (allows(model, 'list')) {
    app.get(
      base,
      {
        config: { auth: 'token', operation: op('list') },
        schema: {
          tags,
          summary: `List ${model.name} records: limit, offset, sort, select and filters`,
          response: { 200: Type.Array(RecordSchema), 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const json = await service.list(requirePrincipal(request), model, request.query);
        return reply.header('content-type', JSON_TYPE).send(json);
      },
    );
  }

  if (allows(model, 'create')) {
    app.post(
      base,
      {
        config: { auth: 'token', operation: op('create') },
        schema: {
          tags,
          summary: `Create a ${model.name}`,
          response: { 200: RecordSchema, 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const result = await service.create(requirePrincipal(request), model, request.body);
        reportIgnored(request, reply, result.ignoredFields);
        return reply.header('content-type', JSON_TYPE).send(result.json);
      },
    );
  }

  if (allows(model, 'bulkUpsert')) {
    app.put(
      base,
      {
        config: { auth: 'token', operation: op('bulkUpsert') },
        schema: {
          tags,
          summary: `Create or update up to 5,000 ${model.name} records`,
          response: {
            200: UpsertReportSchema,
            206: UpsertReportSchema,
            ...AUTH_ERRORS,
            400: Type.Union([UpsertReportSchema, ErrorSchema]),
            403: Type.Union([UpsertReportSchema, ErrorSchema]),
          },
        },
      },
      async (request, reply) => {
        const result = await service.bulkUpsert(requirePrincipal(request), model, request.body);
        const { report } = result;
        const errors =
          report.createdErrors.length +
          report.updatedErrors.length +
          report.permissionErrors.length;
        request.requestLogExtras = {
          counts: { created: report.created, updated: report.updated, errors },
        };
        reportIgnored(request, reply, result.ignoredFields);
        return reply
          .code(result.status)
          .header('content-type', JSON_TYPE)
          .send(JSON.stringify(report));
      },
    );
  }

  if (allows(model, 'export')) {
    app.get(
      `${base}/export`,
      {
        config: { auth: 'token', operation: op('export') },
        schema: {
          tags,
          summary: `Stream every ${model.name} as NDJSON or CSV (format= or Accept)`,
          response: { 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const result = await exportRecords(
          service,
          requirePrincipal(request),
          model,
          request.query as Record<string, unknown>,
          request.headers.accept,
        );
        return reply
          .header('content-type', result.contentType)
          .header('content-disposition', `attachment; filename="${result.filename}"`)
          .send(result.body);
      },
    );
  }

  if (allows(model, 'read')) {
    app.get<KeyRoute>(
      `${base}/:key`,
      {
        config: { auth: 'token', operation: op('get') },
        // No params schema: this is the hottest route, and the key is checked by hand.
        schema: {
          tags,
          summary: `Get a ${model.name} by _id, extid-<externalId> or srcid-<sourceId>`,
          response: { 200: RecordSchema, 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const json = await service.read(requirePrincipal(request), model, request.params.key);
        return reply.header('content-type', JSON_TYPE).send(json);
      },
    );
  }

  if (allows(model, 'update')) {
    app.put<KeyRoute>(
      `${base}/:key`,
      {
        config: { auth: 'token', operation: op('update') },
        schema: {
          tags,
          summary: `Update the fields of a ${model.name} that the body names`,
          params: KeyParams,
          response: { 200: RecordSchema, 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        const principal = requirePrincipal(request);
        const result = await service.update(principal, model, request.params.key, request.body);
        reportIgnored(request, reply, result.ignoredFields);
        return reply.header('content-type', JSON_TYPE).send(result.json);
      },
    );
  }

  if (allows(model, 'delete')) {
    app.delete<KeyRoute>(
      `${base}/:key`,
      {
        config: { auth: 'token', operation: op('delete') },
        schema: {
          tags,
          summary: `Delete a ${model.name}`,
          params: KeyParams,
          response: { 200: DeleteAnswer, 400: ErrorSchema, ...AUTH_ERRORS },
        },
      },
      async (request, reply) => {
        await service.remove(requirePrincipal(request), model, request.params.key);
        return reply.header('content-type', JSON_TYPE).send(DELETE_ANSWER);
      },
    );
  }

  app.get<KeyRoute & { Querystring: { limit?: string } }>(
    `${base}/:key/history`,
    {
      config: { auth: 'token', operation: op('history') },
      schema: {
        tags,
        summary: `Who created, changed and deleted a ${model.name}, newest first`,
        params: KeyParams,
        querystring: Type.Object({
          limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$' })),
        }),
        response: { 200: Type.Array(HistoryEventSchema), ...AUTH_ERRORS },
      },
    },
    async (request) => {
      request.requestLogExtras = { permissionAction: 'view' };
      const principal = requirePrincipal(request);
      const limit = request.query.limit === undefined ? undefined : Number(request.query.limit);
      return service.history(principal, model, request.params.key, limit);
    },
  );
}

function leanCompanyRoutes(app: FastifyInstance, service: RecordService) {
  const company = getModel('Company');
  const lean = company.leanView;
  if (lean === undefined) return;
  app.get(
    `/${lean.path}`,
    {
      config: { auth: 'token', operation: 'record.company.lean.list' },
      schema: {
        tags: ['records'],
        summary: 'List every company with its ids, name and slug only',
        response: { 200: Type.Array(RecordSchema), 400: ErrorSchema, ...AUTH_ERRORS },
      },
    },
    async (request, reply) => {
      const json = await service.list(requirePrincipal(request), company, request.query, 'lean');
      return reply.header('content-type', JSON_TYPE).send(json);
    },
  );
}
