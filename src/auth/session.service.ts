import { createHmac, hash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import * as members from '../members/member.repository.js';
import { memberPermissions } from '../members/member.service.js';
import { DecoyHash, verifyPassword, type ScryptCost } from '../members/password.js';
import { AppError } from '../shared/errors.js';
import { nowIso } from '../shared/ids.js';
import type { MemberPrincipal } from './principal.js';
import * as sessions from './session.repository.js';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export function hashSessionId(sessionId: string): string {
  return hash('sha256', sessionId);
}

/**
 * The CSRF token is derived from the session id, which only the browser holding the
 * HttpOnly cookie knows: nothing extra is stored, and a new login yields a new token.
 */
export function csrfTokenFor(sessionId: string): string {
  return createHmac('sha256', sessionId).update('csrf').digest('base64url');
}

export class SessionService {
  private readonly decoy: DecoyHash;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly passwordCost: ScryptCost,
  ) {
    this.decoy = new DecoyHash(passwordCost);
  }

  /**
   * Checks the password and opens a session with a fresh id. An unknown email, an inactive
   * member and a wrong password all run one scrypt and fail with the same error.
   */
  async login(email: string, password: string): Promise<{ sessionId: string; memberId: string }> {
    const credentials = await members.findCredentials(this.db, email);
    const stored = credentials?.passwordHash ?? (await this.decoy.get());
    const matches = await verifyPassword(password, stored);
    if (credentials === undefined || credentials.inactive || !matches) {
      throw new AppError('invalid_credentials');
    }

    const sessionId = randomBytes(32).toString('base64url');
    const now = Date.now();
    await sessions.insertSession(this.db, {
      idHash: hashSessionId(sessionId),
      workspaceId: credentials.workspaceId,
      memberId: credentials.id,
      createdAt: nowIso(now),
      expiresAt: nowIso(now + SESSION_TTL_MS),
    });
    return { sessionId, memberId: credentials.id };
  }

  async logout(sessionId: string): Promise<void> {
    await sessions.deleteSession(this.db, hashSessionId(sessionId));
  }

  /** The member behind a session cookie, or undefined for an unknown or ended session. */
  async resolve(sessionId: string): Promise<MemberPrincipal | undefined> {
    const idHash = hashSessionId(sessionId);
    const session = await sessions.findSession(this.db, idHash);
    if (session === undefined || session.expiresAt <= nowIso()) return undefined;
    const member = await members.findMember(this.db, session.workspaceId, session.memberId);
    if (member === undefined || member.inactive) return undefined;
    return {
      kind: 'member',
      workspaceId: member.workspaceId,
      actor: { type: 'member', id: member.id, name: members.displayName(member) },
      permissions: await memberPermissions(this.db, member.workspaceId, member.roleIds),
      sessionIdHash: idHash,
    };
  }
}
