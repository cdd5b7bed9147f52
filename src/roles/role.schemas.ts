import { Type } from '@fastify/type-provider-typebox';
import { PermissionSetSchema } from '../permissions/permission-set.schema.js';

export const RoleSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  permissions: PermissionSetSchema,
  builtin: Type.Boolean(),
  memberCount: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const RoleName = Type.String({ minLength: 1, maxLength: 100 });
const Description = Type.String({ maxLength: 2000 });

export const CreateRoleBody = Type.Object(
  { name: RoleName, description: Type.Optional(Description), permissions: PermissionSetSchema },
  { additionalProperties: false },
);

export const UpdateRoleBody = Type.Object(
  {
    name: Type.Optional(RoleName),
    description: Type.Optional(Description),
    permissions: Type.Optional(PermissionSetSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const DeleteRoleQuery = Type.Object(
  { moveTo: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);
