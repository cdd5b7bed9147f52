import type { FastifyRequest } from 'fastify';
import type { TokenAuthenticator } from '../auth/authentication.plugin.js';
import type { AppPrincipal } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { AppError } from '../shared/errors.js';
import { presentedToken } from './token-credentials.js';
import { checkTokenShape, hashToken } from './token-format.js';
import {
  createTokenLookup,
  isAllowed,
  type TokenLookup,
  type TokenRecord,
} from './token-lookup.js';
import { LocalRevocationBus, type RevocationBus } from './revocation-bus.js';

/** What a request made with a known token carries, even when the token was refused. */
export interface TokenContext {
  workspaceId: string;
  appId: string;
  appName: string;
  tokenId: string;
  tokenHint: string;
  rateLimitPerSecond: number | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    tokenContext: TokenContext | undefined;
  }
}

export interface TokenAuthenticatorOptions {
  lookup?: TokenLookup;
  bus?: RevocationBus;
  /** How long a verified token is trusted without a lookup. Revocations evict at once. */
  cacheTtlMs?: number;
  cacheSize?: number;
  now?: () => number;
}

/*
 * Refusals of made-up tokens are the cheapest answer the server gives, and floods of them
 * are an attack pattern; building an Error with a stack costs more than the whole check,
 * so these carry no stack and are built once. They hold nothing about the request.
 */
const MALFORMED = stackless(new AppError('token_malformed'));
const BAD_CHECKSUM = stackless(
  new AppError('token_malformed', { message: 'The API Access Token checksum is wrong' }),
);

function stackless(error: AppError): AppError {
  error.stack = `${error.name}: ${error.message}`;
  return error;
}

interface CacheEntry {
  record: TokenRecord;
  cachedAt: number;
}

/**
 * Verifies API Access Tokens: format and checksum first (no I/O), then a cache of
 * recent lookups, then the database. Revocations arrive on the bus and evict entries
 * before the next request is verified.
 */
export class CachingTokenAuthenticator implements TokenAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly bus: RevocationBus;
  private readonly lookup: TokenLookup;
  private readonly ttl: number;
  private readonly size: number;
  private readonly now: () => number;

  constructor(database: Database, options: TokenAuthenticatorOptions = {}) {
    this.lookup = options.lookup ?? createTokenLookup(database);
    this.ttl = options.cacheTtlMs ?? 60_000;
    this.size = options.cacheSize ?? 10_000;
    this.now = options.now ?? Date.now;
    this.bus = options.bus ?? new LocalRevocationBus();
    this.bus.subscribe((revocation) => {
      if (revocation.kind === 'token') {
        this.cache.delete(revocation.tokenHash);
        return;
      }
      for (const [key, entry] of this.cache) {
        const matches =
          revocation.kind === 'app'
            ? entry.record.appId === revocation.appId
            : entry.record.workspaceId === revocation.workspaceId;
        if (matches) this.cache.delete(key);
      }
    });
  }

  async authenticate(request: FastifyRequest): Promise<AppPrincipal> {
    const token = presentedToken(request);
    if (token === undefined) throw new AppError('token_missing');
    const record = await this.verify(token);
    const app = record.app;
    request.tokenContext = {
      workspaceId: record.workspaceId,
      appId: record.appId,
      appName: app?.name ?? '',
      tokenId: record.tokenId,
      tokenHint: record.hint,
      rateLimitPerSecond: app?.rateLimitPerSecond ?? null,
    };
    refuseUnusable(record, new Date(this.now()).toISOString());
    if (app?.allowlist !== undefined && !isAllowed(app.allowlist, request.ip)) {
      throw new AppError('ip_not_allowed');
    }
    return {
      kind: 'app',
      workspaceId: record.workspaceId,
      actor: { type: 'app', id: record.appId, name: app?.name ?? '' },
      permissions: app?.permissions ?? { models: {}, fields: {} },
      appId: record.appId,
      tokenId: record.tokenId,
      tokenHint: record.hint,
    };
  }

  /** Finds the token's record; throws for malformed and unknown tokens. */
  async verify(token: string): Promise<TokenRecord> {
    const shape = checkTokenShape(token);
    if (shape === 'malformed') throw MALFORMED;
    if (shape === 'bad_checksum') throw BAD_CHECKSUM;
    const tokenHash = hashToken(token);
    const synced = this.bus.sync();
    if (synced !== undefined) await synced;
    const cached = this.cache.get(tokenHash);
    const now = this.now();
    if (
      cached !== undefined &&
      now - cached.cachedAt < this.ttl &&
      !this.bus.isHeld(tokenHash, cached.record.appId, cached.record.workspaceId)
    ) {
      return cached.record;
    }

    const generation = this.bus.generation;
    const record = await this.lookup(tokenHash);
    if (record === undefined) throw new AppError('token_invalid');
    // A lookup that overlapped a revocation may have read the state from before it: use
    // it for this request, which began before the commit, but never cache it.
    if (generation !== this.bus.generation) return record;
    if (this.bus.isHeld(tokenHash, record.appId, record.workspaceId)) return record;
    if (this.cache.size >= this.size) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(tokenHash, { record, cachedAt: now });
    return record;
  }
}

function refuseUnusable(record: TokenRecord, now: string): void {
  if (record.deleted || record.app === undefined) throw new AppError('token_revoked');
  if (!record.app.enabled) throw new AppError('app_disabled');
  if (record.expiresAt !== null && record.expiresAt <= now) throw new AppError('token_expired');
  if (record.retiresAt !== null && record.retiresAt <= now) throw new AppError('token_rotated');
}

export function createTokenAuthenticator(
  database: Database,
  options: TokenAuthenticatorOptions = {},
): CachingTokenAuthenticator {
  return new CachingTokenAuthenticator(database, options);
}
