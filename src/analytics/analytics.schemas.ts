import { Type } from '@fastify/type-provider-typebox';

const Text = Type.String({ minLength: 1, maxLength: 1_000 });
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) =>
  Type.Union([schema, Type.Null()]);

export const TenantParams = Type.Object({
  tenantToken: Type.String({ description: 'The Tenant Token shown in Settings' }),
});

export const IngestionReportSchema = Type.Object(
  {
    processed: Type.Integer({ description: 'Items read, failed ones included' }),
    stored: Type.Integer({ description: 'Items written' }),
    errors: Type.Array(Type.Object({ item: Type.Unknown(), error: Type.String() }), {
      description: 'The failed items as sent, each with the reason',
    }),
    omittedErrors: Type.Optional(
      Type.Integer({ description: 'Failed items beyond the first 1,000, not listed' }),
    ),
  },
  { description: 'Stored: the answer is sent only once the items are committed' },
);

const Limit = (maximum: number) =>
  Type.Integer({ minimum: 1, description: `At most ${maximum}; larger values are clamped` });

export const DimensionDataQuery = Type.Object({
  cId: Type.Optional(
    Type.String({ ...Text, description: 'Company _id, extid-<externalId> or srcid-<sourceId>' }),
  ),
  dimid: Type.Optional(Type.String({ ...Text, description: 'The dimensionId' })),
  from: Type.Optional(Type.Integer({ minimum: 0, description: 'First day (days since 1970)' })),
  to: Type.Optional(Type.Integer({ minimum: 0, description: 'Last day (days since 1970)' })),
  limit: Type.Optional(Limit(10_000)),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const DimensionDataSchema = Type.Object({
  _id: Type.String(),
  dimensionId: Type.String(),
  value: Type.Number(),
  model: Type.String(),
  externalId: Nullable(Type.String()),
  parentId: Nullable(Type.String({ description: 'The _id of the object the value is about' })),
  companyId: Nullable(Type.String()),
  companyName: Nullable(Type.String()),
  time: Type.String({ description: 'ISO 8601' }),
  date: Type.String({ description: 'ISO 8601, the same instant as time' }),
  day: Type.Integer({ description: 'Days since 1970-01-01 UTC' }),
});

const Instant = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'An ISO 8601 date or time, or epoch milliseconds',
});

export const UserActivityQuery = Type.Object({
  companyId: Type.Optional(
    Type.String({ ...Text, description: 'Company _id, extid-<externalId> or srcid-<sourceId>' }),
  ),
  companyExternalId: Type.Optional(Text),
  enduserId: Type.Optional(
    Type.String({ ...Text, description: 'End user _id, extid-<externalId> or srcid-<sourceId>' }),
  ),
  endUserId: Type.Optional(Type.String({ ...Text, description: 'Alias of enduserId' })),
  externalId: Type.Optional(Type.String({ ...Text, description: "The end user's externalId" })),
  email: Type.Optional(Text),
  action: Type.Optional(Text),
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
  limit: Type.Optional(Limit(5_000)),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const UserActivitySchema = Type.Object({
  _id: Type.String(),
  time: Type.String({ description: 'When the activity happened, ISO 8601' }),
  action: Type.String(),
  weight: Type.Number(),
  count: Type.Number(),
  email: Nullable(Type.String()),
  externalId: Nullable(Type.String()),
  companyExternalId: Nullable(Type.String()),
  name: Nullable(Type.String()),
  enduserId: Nullable(Type.String()),
  companyId: Nullable(Type.String()),
  info: Type.Unknown({ description: 'The info object as sent, or null' }),
  receivedAt: Type.String({ description: 'When App Center stored it, ISO 8601' }),
});
