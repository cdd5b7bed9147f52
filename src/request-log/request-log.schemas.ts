import { Type, type TSchema } from '@fastify/type-provider-typebox';
import { PermissionSetSchema } from '../permissions/permission-set.schema.js';
import { PrivateAppSchema } from '../private-apps/private-app.schemas.js';
import { MAX_PAGE_SIZE } from './request-log.service.js';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const Time = Type.String({
  maxLength: 40,
  description: 'An ISO 8601 date-time or epoch milliseconds',
});
function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

export const AppParams = Type.Object({ id: Id });
export const LogParams = Type.Object({ id: Id, logId: Type.String({ maxLength: 20 }) });

const FilterProperties = {
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  method: Type.Optional(Type.String({ maxLength: 10 })),
  status: Type.Optional(
    Type.String({ maxLength: 3, description: '2xx, 4xx, 5xx or an exact status code' }),
  ),
  path: Type.Optional(Type.String({ maxLength: 500, description: 'A path substring' })),
  tokenId: Type.Optional(Id),
  errorCode: Type.Optional(Type.String({ maxLength: 100 })),
};

export const ListQuery = Type.Object(
  {
    ...FilterProperties,
    cursor: Type.Optional(Type.String({ maxLength: 100 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
  },
  { additionalProperties: false },
);

export const ExportQuery = Type.Object(
  {
    ...FilterProperties,
    format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('ndjson')])),
  },
  { additionalProperties: false },
);

export const SummaryQuery = Type.Object(
  {
    from: Type.Optional(Time),
    to: Type.Optional(Time),
    bucket: Type.Optional(
      Type.String({ maxLength: 10, description: '1m, 5m, 1h, 1d, ... or seconds' }),
    ),
  },
  { additionalProperties: false },
);

export const WindowQuery = Type.Object(
  { from: Type.Optional(Time), to: Type.Optional(Time) },
  { additionalProperties: false },
);

export const RequestLogSchema = Type.Object({
  id: Type.String(),
  at: Type.String(),
  method: Type.String(),
  route: Type.String({ description: 'The route pattern, such as /companies/:id' }),
  path: Type.String({ description: 'The path and query, secret-looking values redacted' }),
  status: Type.Integer(),
  durationMs: Type.Number(),
  tokenId: Type.String(),
  tokenHint: Type.String(),
  ip: Type.String(),
  userAgent: Type.String(),
  model: Nullable(Type.String()),
  operation: Type.String(),
  actions: Type.Array(Type.String()),
  counts: Nullable(
    Type.Object({ created: Type.Integer(), updated: Type.Integer(), errors: Type.Integer() }),
  ),
  ignoredFields: Type.Array(Type.String()),
  errorCode: Nullable(Type.String()),
  errorMessage: Nullable(Type.String()),
  missingPermission: Nullable(Type.String()),
  requestId: Type.String(),
});

export const LogPageSchema = Type.Object({
  items: Type.Array(RequestLogSchema),
  nextCursor: Nullable(Type.String()),
});

export const SummarySchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  bucketSeconds: Type.Number(),
  buckets: Type.Array(
    Type.Object({
      start: Type.String(),
      s2xx: Type.Integer({ description: 'Every status below 400' }),
      s4xx: Type.Integer(),
      s5xx: Type.Integer(),
      p50: Nullable(Type.Number({ description: 'Median duration in ms; null when empty' })),
      p95: Nullable(Type.Number()),
    }),
  ),
});

const SuggestionProperties = {
  from: Type.String(),
  to: Type.String(),
  suggested: PermissionSetSchema,
  unused: Type.Array(Type.String()),
  refused: Type.Array(
    Type.Object({ permission: Type.String(), count: Type.Integer(), lastAt: Type.String() }),
  ),
  used: Type.Array(Type.Object({ permission: Type.String(), count: Type.Integer() })),
};

export const SuggestionSchema = Type.Object(SuggestionProperties);

export const AppliedSuggestionSchema = Type.Object({
  app: PrivateAppSchema,
  suggestion: SuggestionSchema,
});

export const ApplyBody = Type.Union([
  Type.Object(
    { from: Type.Optional(Time), to: Type.Optional(Time) },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
