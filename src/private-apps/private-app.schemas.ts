import { Type } from '@fastify/type-provider-typebox';
import { PermissionSetSchema } from '../permissions/permission-set.schema.js';

export const ActorSchema = Type.Object({
  type: Type.String(),
  id: Type.String(),
  name: Type.String(),
});

export const PrivateAppSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  permissions: PermissionSetSchema,
  enabled: Type.Boolean(),
  rateLimitPerSecond: Type.Union([Type.Integer(), Type.Null()]),
  ipAllowlist: Type.Array(Type.String()),
  createdAt: Type.String(),
  createdBy: ActorSchema,
  updatedAt: Type.String(),
  tokenCount: Type.Integer(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
});

const AppName = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 5000 });
const Id = Type.String({ minLength: 1, maxLength: 100 });

export const CreateAppBody = Type.Object(
  {
    name: AppName,
    description: Type.Optional(Description),
    copyFrom: Type.Optional(
      Type.Union([
        Type.Object({ type: Type.Literal('scratch') }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('app'), id: Id }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('role'), id: Id }, { additionalProperties: false }),
      ]),
    ),
  },
  { additionalProperties: false },
);

export const UpdateAppBody = Type.Object(
  {
    name: Type.Optional(AppName),
    description: Type.Optional(Description),
    permissions: Type.Optional(PermissionSetSchema),
    enabled: Type.Optional(Type.Boolean()),
    rateLimitPerSecond: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Null()]),
    ),
    ipAllowlist: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const TokenInfoSchema = Type.Object({
  id: Type.String(),
  appId: Type.String(),
  hint: Type.String({ description: 'The prefix and last four characters; never the token' }),
  label: Type.String(),
  createdAt: Type.String(),
  createdBy: ActorSchema,
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  retiresAt: Type.Union([Type.String(), Type.Null()]),
  replacedBy: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedIp: Type.Union([Type.String(), Type.Null()]),
});

export const CreateTokenBody = Type.Object(
  {
    label: Type.Optional(Type.String({ maxLength: 200 })),
    expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const IssuedTokenSchema = Type.Object({
  token: Type.String({ description: 'Shown only in this response' }),
  info: TokenInfoSchema,
});

export const RotateTokenBody = Type.Object(
  { graceSeconds: Type.Integer({ minimum: 0, maximum: 7 * 24 * 60 * 60 }) },
  { additionalProperties: false },
);

export const AppParams = Type.Object({ id: Id });
export const TokenParams = Type.Object({ id: Id, tokenId: Id });
