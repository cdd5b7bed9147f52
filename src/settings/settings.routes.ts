import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { AUTH_ERRORS } from '../http/common.schemas.js';
import { requirePrincipal } from '../http/request-principal.js';
import { getSettings, regenerateTenantToken } from '../workspaces/workspace.service.js';

const SettingsSchema = Type.Object({
  workspace: Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String() }),
  tenantToken: Type.String({
    description: 'For the analytics endpoint only: /analytics/{tenantToken} and friends',
  }),
});

export async function settingsRoutes(app: FastifyInstance, options: { db: Kysely<Schema> }) {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const { db } = options;
  const present = (workspace: Awaited<ReturnType<typeof getSettings>>) => ({
    workspace: { id: workspace.id, name: workspace.name, createdAt: workspace.createdAt },
    tenantToken: workspace.tenantToken,
  });

  typed.get(
    '/manage/settings',
    {
      config: { auth: 'session-or-token', operation: 'settings.get' },
      schema: { tags: ['settings'], response: { 200: SettingsSchema, ...AUTH_ERRORS } },
    },
    async (request) => present(await getSettings(db, requirePrincipal(request))),
  );

  typed.post(
    '/manage/settings/tenant-token/regenerate',
    {
      config: { auth: 'session-or-token', operation: 'settings.tenantToken.regenerate' },
      schema: {
        tags: ['settings'],
        summary: 'Issue a new Tenant Token; the old one stops working at once',
        response: { 200: SettingsSchema, ...AUTH_ERRORS },
      },
    },
    async (request) => present(await regenerateTenantToken(db, requirePrincipal(request))),
  );
}
