import { BlockList, isIP } from 'node:net';
import type { Database } from '../db/database.js';
import { normalizePermissions, type PermissionSet } from '../permissions/permission-set.js';

/** Everything needed to accept or refuse a token, read in one query. */
export interface TokenRecord {
  tokenId: string;
  workspaceId: string;
  appId: string;
  hint: string;
  expiresAt: string | null;
  retiresAt: string | null;
  deleted: boolean;
  app:
    | {
        name: string;
        enabled: boolean;
        permissions: PermissionSet;
        allowlist: BlockList | undefined;
        rateLimitPerSecond: number | null;
      }
    | undefined;
}

interface LookupRow {
  id: string;
  workspace_id: string;
  app_id: string;
  hint: string;
  expires_at: string | null;
  retires_at: string | null;
  deleted_at: string | null;
  name: string | null;
  enabled: number | null;
  permissions: string | null;
  ip_allowlist: string | null;
  rate_limit_per_second: number | null;
}

const LOOKUP_SQL = `
  select t.id, t.workspace_id, t.app_id, t.hint, t.expires_at, t.retires_at, t.deleted_at,
         a.name, a.enabled, a.permissions, a.ip_allowlist, a.rate_limit_per_second
  from api_tokens t
  left join private_apps a on a.id = t.app_id and a.workspace_id = t.workspace_id
  where t.token_hash = `;

export type TokenLookup = (tokenHash: string) => Promise<TokenRecord | undefined>;

/**
 * The token lookup runs on every cache miss, so it uses one prepared statement rather
 * than Kysely, whose SQLite driver prepares each query anew.
 */
export function createTokenLookup(database: Database): TokenLookup {
  if (database.sqlite !== undefined) {
    const statement = database.sqlite.prepare<[string], LookupRow>(`${LOOKUP_SQL}?`);
    return async (tokenHash) => toRecord(statement.get(tokenHash));
  }
  const pool = database.pool;
  if (pool === undefined) throw new Error('database has neither SQLite nor a pool');
  return async (tokenHash) => {
    const result = await pool.query<LookupRow>({
      name: 'token-lookup',
      text: `${LOOKUP_SQL}$1`,
      values: [tokenHash],
    });
    return toRecord(result.rows[0]);
  };
}

function toRecord(row: LookupRow | undefined): TokenRecord | undefined {
  if (row === undefined) return undefined;
  const hasApp = row.name !== null && row.permissions !== null;
  return {
    tokenId: row.id,
    workspaceId: row.workspace_id,
    appId: row.app_id,
    hint: row.hint,
    expiresAt: row.expires_at,
    retiresAt: row.retires_at,
    deleted: row.deleted_at !== null,
    app: hasApp
      ? {
          name: row.name ?? '',
          enabled: row.enabled === 1,
          permissions: normalizePermissions(JSON.parse(row.permissions ?? '{}')),
          allowlist: toBlockList(JSON.parse(row.ip_allowlist ?? '[]') as string[]),
          rateLimitPerSecond: row.rate_limit_per_second,
        }
      : undefined,
  };
}

/** Builds a matcher for CIDR ranges; an empty list means every address is allowed. */
export function toBlockList(ranges: readonly string[]): BlockList | undefined {
  if (ranges.length === 0) return undefined;
  const list = new BlockList();
  for (const range of ranges) {
    const [address = '', bits] = range.split('/');
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const prefix = bits === undefined ? (family === 'ipv6' ? 128 : 32) : Number(bits);
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** Whether an address (as Node reports it, IPv4-mapped IPv6 included) is in the list. */
export function isAllowed(list: BlockList, ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped?.[1] ?? ip;
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return list.check(address, family);
}

/** Validates a CIDR range as given by a person; returns an error text or undefined. */
export function cidrProblem(range: string): string | undefined {
  const [address = '', bits, extra] = range.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return `${range} is not an IP address or CIDR range`;
  if (bits === undefined) return undefined;
  const max = version === 6 ? 128 : 32;
  if (!/^\d+$/.test(bits) || Number(bits) > max) return `${range} has a bad prefix length`;
  return undefined;
}
