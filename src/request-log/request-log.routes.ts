import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, ErrorSchema } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { toLogFilter } from './request-log.filters.js';
import {
  AppParams,
  AppliedSuggestionSchema,
  ApplyBody,
  ExportQuery,
  ListQuery,
  LogPageSchema,
  LogParams,
  RequestLogSchema,
  SuggestionSchema,
  SummaryQuery,
  SummarySchema,
  WindowQuery,
} from './request-log.schemas.js';
import type { RequestLogService } from './request-log.service.js';

const ROUTE = '/manage/private-apps/:id';
const AUTH = 'session-or-token' as const;
const READ_ERRORS = { 400: ErrorSchema, ...AUTH_ERRORS };

const ExportStream = Type.Unsafe<Readable>({
  type: 'string',
  description: 'A CSV header then one row per request, or one JSON object per line',
});

const CONTENT_TYPES = { csv: 'text/csv; charset=utf-8', ndjson: 'application/x-ndjson' } as const;

/** The Logs tab's API: an app's requests, their chart, export and suggested permissions. */
export async function requestLogRoutes(app: FastifyInstance, options: { logs: RequestLogService }) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { logs } = options;
  const tags = ['request logs'];

  typed.get(
    `${ROUTE}/logs`,
    {
      config: { auth: AUTH, operation: 'privateApp.logs.list' },
      schema: {
        tags,
        summary: "The app's requests, newest first, filtered and paginated by cursor",
        params: AppParams,
        querystring: ListQuery,
        response: { 200: LogPageSchema, ...READ_ERRORS },
      },
    },
    async (request) => {
      const { cursor, limit, ...filters } = request.query;
      return logs.list(requirePrincipal(request), request.params.id, toLogFilter(filters), {
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit === undefined ? {} : { limit }),
      });
    },
  );

  typed.get(
    `${ROUTE}/logs/summary`,
    {
      config: { auth: AUTH, operation: 'privateApp.logs.summary' },
      schema: {
        tags,
        summary: 'Requests per time bucket by status class, with p50 and p95 duration',
        params: AppParams,
        querystring: SummaryQuery,
        response: { 200: SummarySchema, ...READ_ERRORS },
      },
    },
    async (request) => logs.summary(requirePrincipal(request), request.params.id, request.query),
  );

  typed.get(
    `${ROUTE}/logs/export`,
    {
      config: { auth: AUTH, operation: 'privateApp.logs.export' },
      schema: {
        tags,
        summary: 'Every filtered request, newest first, streamed as CSV or NDJSON',
        params: AppParams,
        querystring: ExportQuery,
        response: { 200: ExportStream, ...READ_ERRORS },
      },
    },
    async (request, reply) => {
      const { format = 'ndjson', ...filters } = request.query;
      const id = request.params.id;
      const lines = await logs.export(requirePrincipal(request), id, toLogFilter(filters), format);
      reply.header('content-type', CONTENT_TYPES[format]);
      reply.header('content-disposition', `attachment; filename="logs-${id}.${format}"`);
      return reply.send(Readable.from(lines));
    },
  );

  typed.get(
    `${ROUTE}/logs/:logId`,
    {
      config: { auth: AUTH, operation: 'privateApp.logs.get' },
      schema: {
        tags,
        params: LogParams,
        response: { 200: RequestLogSchema, ...READ_ERRORS },
      },
    },
    async (request) => {
      const { id, logId } = request.params;
      return logs.get(requirePrincipal(request), id, logId);
    },
  );

  typed.get(
    `${ROUTE}/suggested-permissions`,
    {
      config: { auth: AUTH, operation: 'privateApp.suggestedPermissions.get' },
      schema: {
        tags,
        summary: 'The smallest permissions that would have allowed every successful request',
        params: AppParams,
        querystring: WindowQuery,
        response: { 200: SuggestionSchema, ...READ_ERRORS },
      },
    },
    async (request) =>
      logs.suggestedPermissions(requirePrincipal(request), request.params.id, request.query),
  );

  typed.post(
    `${ROUTE}/suggested-permissions/apply`,
    {
      config: { auth: AUTH, operation: 'privateApp.suggestedPermissions.apply' },
      schema: {
        tags,
        summary: "Replace the app's permissions with the suggestion for a window",
        params: AppParams,
        body: ApplyBody,
        response: { 200: AppliedSuggestionSchema, ...READ_ERRORS },
      },
    },
    async (request) =>
      logs.applySuggestedPermissions(
        requirePrincipal(request),
        request.params.id,
        request.body ?? {},
      ),
  );
}
