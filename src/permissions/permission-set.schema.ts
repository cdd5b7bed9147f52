import { Type, type Static } from 'typebox';
import { ACTIONS, MODELS } from './permission-set.js';

const ActionSetSchema = Type.Object(
  Object.fromEntries(ACTIONS.map((action) => [action, Type.Boolean()])),
  { additionalProperties: false },
);

const FieldRulesSchema = Type.Record(
  Type.String({ minLength: 1, maxLength: 200 }),
  Type.Union([Type.Literal('hidden'), Type.Literal('read'), Type.Literal('write')]),
  { maxProperties: 500 },
);

/** The wire form of a PermissionSet; unknown models are refused so typos do not vanish. */
export const PermissionSetSchema = Type.Object(
  {
    models: Type.Object(
      Object.fromEntries(MODELS.map((model) => [model, Type.Optional(ActionSetSchema)])),
      { additionalProperties: false },
    ),
    fields: Type.Optional(
      Type.Object(
        Object.fromEntries(MODELS.map((model) => [model, Type.Optional(FieldRulesSchema)])),
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type PermissionSetInput = Static<typeof PermissionSetSchema>;
