import { Type } from '@fastify/type-provider-typebox';

const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' });
const Name = Type.String({ maxLength: 200 });
const RoleIds = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 });

export const MemberSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  firstName: Type.String(),
  lastName: Type.String(),
  nickname: Type.String(),
  inactive: Type.Boolean(),
  roleIds: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

export const AddMemberBody = Type.Object(
  {
    email: Email,
    firstName: Type.Optional(Name),
    lastName: Type.Optional(Name),
    nickname: Type.Optional(Name),
    password: Type.Optional(Type.String({ minLength: 12, maxLength: 1024 })),
    roleIds: RoleIds,
  },
  { additionalProperties: false },
);

export const UpdateMemberBody = Type.Object(
  {
    email: Type.Optional(Email),
    firstName: Type.Optional(Name),
    lastName: Type.Optional(Name),
    nickname: Type.Optional(Name),
    inactive: Type.Optional(Type.Boolean()),
    password: Type.Optional(Type.String({ minLength: 12, maxLength: 1024 })),
    roleIds: Type.Optional(RoleIds),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AddMemberResponse = Type.Object({
  member: MemberSchema,
  password: Type.Optional(Type.String({ description: 'Shown once, when generated' })),
});
