import type { Kysely } from 'kysely';
import type { Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Executor } from '../db/database.js';
import type { Schema } from '../db/schema.js';
import { requireNoEscalation, requirePermission } from '../permissions/authorize.js';
import {
  diffPermissions,
  emptyPermissions,
  type PermissionSet,
} from '../permissions/permission-set.js';
import { findRole } from '../roles/role.repository.js';
import { invalidField, notFound } from '../shared/errors.js';
import { newId, nowIso } from '../shared/ids.js';
import { cidrProblem } from '../tokens/token-lookup.js';
import { markDeleted } from '../tokens/token.repository.js';
import type { RevocationBus } from '../tokens/revocation-bus.js';
import * as apps from './private-app.repository.js';

export type { PrivateApp, PrivateAppSummary } from './private-app.repository.js';

/** Where a new app's permissions come from; the copy is a snapshot, never a link. */
export type CopyFrom =
  { type: 'scratch' } | { type: 'app'; id: string } | { type: 'role'; id: string };

export interface CreateAppInput {
  name: string;
  description?: string;
  copyFrom?: CopyFrom;
}

export interface UpdateAppInput {
  name?: string;
  description?: string;
  permissions?: PermissionSet;
  enabled?: boolean;
  rateLimitPerSecond?: number | null;
  ipAllowlist?: string[];
}

/** Private apps: gated by the ServiceAccount permission, never stronger than their maker. */
export class PrivateAppService {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly bus: RevocationBus,
  ) {}

  async list(principal: Principal) {
    requirePermission(principal, 'ServiceAccount', 'view');
    return apps.listApps(this.db, principal.workspaceId);
  }

  async get(principal: Principal, id: string) {
    requirePermission(principal, 'ServiceAccount', 'view');
    return this.find(this.db, principal, id);
  }

  async create(principal: Principal, input: CreateAppInput) {
    requirePermission(principal, 'ServiceAccount', 'create');
    const id = newId();
    await this.db.transaction().execute(async (trx) => {
      const permissions = await this.copiedPermissions(trx, principal, input.copyFrom);
      requireNoEscalation(principal, permissions);
      const now = nowIso();
      await apps.insertApp(trx, {
        id,
        workspaceId: principal.workspaceId,
        name: input.name,
        description: input.description ?? '',
        permissions,
        enabled: true,
        rateLimitPerSecond: null,
        ipAllowlist: [],
        createdAt: now,
        createdBy: principal.actor,
        updatedAt: now,
      });
      await recordAudit(trx, {
        workspaceId: principal.workspaceId,
        actor: principal.actor,
        action: 'privateApp.create',
        targetType: 'ServiceAccount',
        targetId: id,
        changes: {
          name: input.name,
          copyFrom: input.copyFrom ?? { type: 'scratch' },
          permissions: diffPermissions(emptyPermissions(), permissions),
        },
      });
    });
    return this.get(principal, id);
  }

  async update(principal: Principal, id: string, input: UpdateAppInput) {
    requirePermission(principal, 'ServiceAccount', 'update');
    if (input.permissions !== undefined) requireNoEscalation(principal, input.permissions);
    for (const range of input.ipAllowlist ?? []) {
      const problem = cidrProblem(range);
      if (problem !== undefined) throw invalidField('ipAllowlist', problem);
    }

    const release = this.bus.hold({ kind: 'app', appId: id });
    try {
      await this.db.transaction().execute(async (trx) => {
        const before = await this.find(trx, principal, id);
        // Editing a stronger app would let the editor hand out its tokens' reach.
        requireNoEscalation(principal, before.permissions);
        await apps.updateApp(trx, principal.workspaceId, id, input, nowIso());
        for (const event of auditEvents(before, input)) {
          await recordAudit(trx, {
            workspaceId: principal.workspaceId,
            actor: principal.actor,
            targetType: 'ServiceAccount',
            targetId: id,
            ...event,
          });
        }
      });
      // Permissions, the switch and the allowlist are all read at verification: drop the
      // cached copies everywhere so the next request sees the committed state.
      await this.bus.publish({ kind: 'app', appId: id });
    } finally {
      release();
    }
    return this.get(principal, id);
  }

  /** Deletes the app and every token it has; its tokens stop working at once. */
  async remove(principal: Principal, id: string) {
    requirePermission(principal, 'ServiceAccount', 'remove');
    const release = this.bus.hold({ kind: 'app', appId: id });
    try {
      await this.db.transaction().execute(async (trx) => {
        const app = await this.find(trx, principal, id);
        requireNoEscalation(principal, app.permissions);
        const now = nowIso();
        await markDeleted(trx, principal.workspaceId, { appId: id }, now);
        await apps.deleteApp(trx, principal.workspaceId, id);
        await recordAudit(trx, {
          workspaceId: principal.workspaceId,
          actor: principal.actor,
          action: 'privateApp.delete',
          targetType: 'ServiceAccount',
          targetId: id,
          changes: { name: app.name, tokensDeleted: app.tokenCount },
        });
      });
      await this.bus.publish({ kind: 'app', appId: id });
    } finally {
      release();
    }
  }

  private async find(executor: Executor, principal: Principal, id: string) {
    const app = await apps.findApp(executor, principal.workspaceId, id);
    if (app === undefined) throw notFound('private app');
    return app;
  }

  private async copiedPermissions(
    executor: Executor,
    principal: Principal,
    copyFrom: CopyFrom | undefined,
  ): Promise<PermissionSet> {
    if (copyFrom === undefined || copyFrom.type === 'scratch') return emptyPermissions();
    if (copyFrom.type === 'app') {
      const source = await apps.findApp(executor, principal.workspaceId, copyFrom.id);
      if (source === undefined) throw notFound('copyFrom private app');
      return source.permissions;
    }
    requirePermission(principal, 'Role', 'view');
    const role = await findRole(executor, principal.workspaceId, copyFrom.id);
    if (role === undefined) throw notFound('copyFrom role');
    return role.permissions;
  }
}

function auditEvents(
  before: apps.PrivateApp,
  input: UpdateAppInput,
): Array<{ action: string; changes: Record<string, unknown> }> {
  const events: Array<{ action: string; changes: Record<string, unknown> }> = [];
  if (input.name !== undefined && input.name !== before.name) {
    events.push({ action: 'privateApp.rename', changes: { from: before.name, to: input.name } });
  }
  if (input.description !== undefined && input.description !== before.description) {
    events.push({ action: 'privateApp.describe', changes: { description: input.description } });
  }
  if (input.permissions !== undefined) {
    const diff = diffPermissions(before.permissions, input.permissions);
    if (diff.granted.length > 0 || diff.revoked.length > 0) {
      events.push({ action: 'privateApp.permissions.update', changes: diff });
    }
  }
  if (input.enabled !== undefined && input.enabled !== before.enabled) {
    events.push({
      action: input.enabled ? 'privateApp.enable' : 'privateApp.disable',
      changes: {},
    });
  }
  if (
    input.rateLimitPerSecond !== undefined &&
    input.rateLimitPerSecond !== before.rateLimitPerSecond
  ) {
    events.push({
      action: 'privateApp.rateLimit.update',
      changes: { from: before.rateLimitPerSecond, to: input.rateLimitPerSecond },
    });
  }
  if (input.ipAllowlist !== undefined) {
    events.push({
      action: 'privateApp.ipAllowlist.update',
      changes: { from: before.ipAllowlist, to: input.ipAllowlist },
    });
  }
  return events;
}
