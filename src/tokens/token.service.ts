import type { Kysely } from 'kysely';
import { systemActor, type Actor, type Principal } from '../auth/principal.js';
import { recordAudit } from '../audit/audit.repository.js';
import type { Executor } from '../db/database.js';
import type { Schema } from '../db/schema.js';
import { requireNoEscalation, requirePermission } from '../permissions/authorize.js';
import { findApp } from '../private-apps/private-app.repository.js';
import { invalidField, notFound } from '../shared/errors.js';
import { newId, nowIso } from '../shared/ids.js';
import { checkTokenShape, generateToken, hashToken, tokenHint } from './token-format.js';
import type { RevocationBus } from './revocation-bus.js';
import * as tokens from './token.repository.js';

export type { TokenInfo } from './token.repository.js';

export const MAX_ROTATION_GRACE_SECONDS = 7 * 24 * 60 * 60;

export interface CreateTokenInput {
  label?: string;
  expiresAt?: string;
}

/** A token as created: the only time the token itself is ever returned. */
export interface IssuedToken {
  token: string;
  info: tokens.TokenInfo;
}

export class TokenService {
  constructor(
    private readonly db: Kysely<Schema>,
    private readonly bus: RevocationBus,
  ) {}

  async list(principal: Principal, appId: string) {
    requirePermission(principal, 'ServiceAccount', 'view');
    await this.findApp(this.db, principal, appId);
    return tokens.listTokens(this.db, principal.workspaceId, appId);
  }

  async create(principal: Principal, appId: string, input: CreateTokenInput): Promise<IssuedToken> {
    requirePermission(principal, 'ServiceAccount', 'update');
    if (input.expiresAt !== undefined && input.expiresAt <= nowIso()) {
      throw invalidField('expiresAt', 'must be in the future');
    }
    return this.db.transaction().execute(async (trx) => {
      await this.findAppWithin(trx, principal, appId);
      const issued = await this.issue(trx, principal, appId, input);
      await recordAudit(trx, {
        workspaceId: principal.workspaceId,
        actor: principal.actor,
        action: 'privateApp.token.create',
        targetType: 'ServiceAccount',
        targetId: appId,
        changes: { tokenId: issued.info.id, hint: issued.info.hint, expiresAt: input.expiresAt },
      });
      return issued;
    });
  }

  /** Deletes one token; the app and its other tokens are untouched. */
  async remove(principal: Principal, appId: string, tokenId: string): Promise<void> {
    requirePermission(principal, 'ServiceAccount', 'update');
    const releases: Array<() => void> = [];
    try {
      const hashes = await this.db.transaction().execute(async (trx) => {
        await this.findAppWithin(trx, principal, appId);
        const token = await tokens.findToken(trx, principal.workspaceId, appId, tokenId);
        if (token === undefined) throw notFound('token');
        releases.push(this.bus.hold({ kind: 'token', tokenHash: token.tokenHash }));
        const deleted = await tokens.markDeleted(
          trx,
          principal.workspaceId,
          { appId, tokenId },
          nowIso(),
        );
        await recordAudit(trx, {
          workspaceId: principal.workspaceId,
          actor: principal.actor,
          action: 'privateApp.token.delete',
          targetType: 'ServiceAccount',
          targetId: appId,
          changes: { tokenId, hint: token.hint },
        });
        return deleted;
      });
      for (const tokenHash of hashes) await this.bus.publish({ kind: 'token', tokenHash });
    } finally {
      for (const release of releases) release();
    }
  }

  /**
   * Issues a replacement now; the old token keeps working for `graceSeconds`, then stops.
   * A grace of zero retires the old token with this commit.
   */
  async rotate(principal: Principal, appId: string, tokenId: string, graceSeconds: number) {
    requirePermission(principal, 'ServiceAccount', 'update');
    if (
      !Number.isInteger(graceSeconds) ||
      graceSeconds < 0 ||
      graceSeconds > MAX_ROTATION_GRACE_SECONDS
    ) {
      throw invalidField(
        'graceSeconds',
        `must be an integer from 0 to ${MAX_ROTATION_GRACE_SECONDS}`,
      );
    }
    const releases: Array<() => void> = [];
    try {
      const result = await this.db.transaction().execute(async (trx) => {
        await this.findAppWithin(trx, principal, appId);
        const old = await tokens.findToken(trx, principal.workspaceId, appId, tokenId);
        if (old === undefined) throw notFound('token');
        if (old.retiresAt !== null) throw invalidField('tokenId', 'names a token already rotated');
        releases.push(this.bus.hold({ kind: 'token', tokenHash: old.tokenHash }));
        const issued = await this.issue(trx, principal, appId, {
          label: old.label,
          ...(old.expiresAt === null ? {} : { expiresAt: old.expiresAt }),
        });
        const retiresAt = nowIso(Date.now() + graceSeconds * 1000);
        await tokens.setRetirement(trx, principal.workspaceId, tokenId, retiresAt, issued.info.id);
        await recordAudit(trx, {
          workspaceId: principal.workspaceId,
          actor: principal.actor,
          action: 'privateApp.token.rotate',
          targetType: 'ServiceAccount',
          targetId: appId,
          changes: { tokenId, newTokenId: issued.info.id, retiresAt },
        });
        const retiring = { ...old, retiresAt, replacedBy: issued.info.id };
        return { ...issued, retiring, oldHash: old.tokenHash };
      });
      await this.bus.publish({ kind: 'token', tokenHash: result.oldHash });
      const { oldHash: _oldHash, retiring, ...issued } = result;
      const { tokenHash: _tokenHash, ...retiringInfo } = retiring;
      return { ...issued, retiring: retiringInfo };
    } finally {
      for (const release of releases) release();
    }
  }

  /**
   * Revokes leaked tokens presented by anyone who holds them. Unknown, malformed and
   * already-deleted tokens are skipped silently so the answer reveals nothing.
   */
  async revokePresented(presented: readonly string[]): Promise<void> {
    const actor: Actor = { ...systemActor(), id: 'token-revocation', name: 'Token revocation' };
    for (const token of presented) {
      if (checkTokenShape(token) !== 'valid') continue;
      const tokenHash = hashToken(token);
      const release = this.bus.hold({ kind: 'token', tokenHash });
      try {
        const revoked = await this.db.transaction().execute(async (trx) => {
          const row = await trx
            .selectFrom('api_tokens')
            .select(['id', 'workspace_id', 'app_id', 'hint'])
            .where('token_hash', '=', tokenHash)
            .where('deleted_at', 'is', null)
            .executeTakeFirst();
          if (row === undefined) return false;
          await tokens.markDeleted(
            trx,
            row.workspace_id,
            { appId: row.app_id, tokenId: row.id },
            nowIso(),
          );
          await recordAudit(trx, {
            workspaceId: row.workspace_id,
            actor,
            action: 'privateApp.token.revokeLeaked',
            targetType: 'ServiceAccount',
            targetId: row.app_id,
            changes: { tokenId: row.id, hint: row.hint },
          });
          return true;
        });
        if (revoked) await this.bus.publish({ kind: 'token', tokenHash });
      } finally {
        release();
      }
    }
  }

  private async issue(
    executor: Executor,
    principal: Principal,
    appId: string,
    input: CreateTokenInput,
  ): Promise<IssuedToken> {
    const token = generateToken();
    const info: tokens.TokenInfo = {
      id: newId(),
      appId,
      hint: tokenHint(token),
      label: input.label ?? '',
      createdAt: nowIso(),
      createdBy: principal.actor,
      expiresAt: input.expiresAt ?? null,
      retiresAt: null,
      replacedBy: null,
      lastUsedAt: null,
      lastUsedIp: null,
    };
    await tokens.insertToken(executor, {
      ...info,
      workspaceId: principal.workspaceId,
      tokenHash: hashToken(token),
      expiresAt: info.expiresAt,
    });
    return { token, info };
  }

  private async findApp(executor: Executor, principal: Principal, appId: string) {
    const app = await findApp(executor, principal.workspaceId, appId);
    if (app === undefined) throw notFound('private app');
    return app;
  }

  /** An app whose tokens the principal may mint: never one stronger than the principal. */
  private async findAppWithin(executor: Executor, principal: Principal, appId: string) {
    const app = await this.findApp(executor, principal, appId);
    requireNoEscalation(principal, app.permissions);
    return app;
  }
}
