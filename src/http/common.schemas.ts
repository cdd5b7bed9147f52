import { Type } from '@fastify/type-provider-typebox';

export const ErrorSchema = Type.Object(
  {
    error: Type.String({ description: 'A stable error code' }),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    permission: Type.Optional(Type.String()),
    requestId: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  { description: 'The error envelope' },
);

export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

/** Standard answers every authenticated route may give besides its own. */
export const AUTH_ERRORS = { 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema } as const;
