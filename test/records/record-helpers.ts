import type { LightMyRequestResponse } from 'fastify';
import {
  allActions,
  type ActionSet,
  type FieldAccess,
  type Model,
  type PermissionSet,
} from '../../src/permissions/permission-set.js';
import { MODEL_DEFINITIONS } from '../../src/records/model-catalogue.js';
import { bearer, createAppWithToken } from '../helpers/private-apps.js';
import { createTestApp, type Session, type TestApp } from '../helpers/test-app.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Call = (
  method: Method,
  url: string,
  payload?: unknown,
  headers?: Record<string, string>,
) => Promise<LightMyRequestResponse>;

/** Every action on every record model, optionally with field rules. */
export function allRecords(fields: PermissionSet['fields'] = {}): PermissionSet {
  const models: PermissionSet['models'] = {};
  for (const model of MODEL_DEFINITIONS) models[model.name as Model] = allActions();
  return { models, fields };
}

/** Only the listed actions on the listed models. */
export function only(
  grants: Partial<Record<Model, Partial<ActionSet>>>,
  fields: Partial<Record<Model, Record<string, FieldAccess>>> = {},
): PermissionSet {
  const models: PermissionSet['models'] = {};
  for (const [model, actions] of Object.entries(grants)) {
    models[model as Model] = { ...allActions(false), ...actions };
  }
  return { models, fields };
}

export interface RecordsFixture {
  t: TestApp;
  admin: Session;
  /** Requests with a token of a private app holding every record permission. */
  api: Call;
  appId: string;
  token: string;
  /** A token for another private app with the given permissions. */
  withToken(permissions: PermissionSet, name?: string): Promise<Call>;
}

export function caller(t: TestApp, token: string): Call {
  return (method, url, payload, headers = {}) =>
    t.app.inject({
      method,
      url,
      headers: { ...headers, ...bearer(token) },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
}

export async function recordsFixture(): Promise<RecordsFixture> {
  // Benchmarks and bulk tests make many calls; the per-app limits are not under test here.
  const t = await createTestApp();
  const admin = await t.login();
  const created = await createAppWithToken(t, admin, allRecords(), 'Integration');
  await t.as(admin, {
    method: 'PATCH',
    url: `/manage/private-apps/${created.id}`,
    payload: { rateLimitPerSecond: 10_000 },
  });
  return {
    t,
    admin,
    api: caller(t, created.token),
    appId: created.id,
    token: created.token,
    async withToken(permissions, name = 'Limited') {
      const other = await createAppWithToken(t, admin, permissions, name);
      await t.as(admin, {
        method: 'PATCH',
        url: `/manage/private-apps/${other.id}`,
        payload: { rateLimitPerSecond: 10_000 },
      });
      return caller(t, other.token);
    },
  };
}
