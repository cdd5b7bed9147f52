import type { Database } from '../db/database.js';

/** Finds the workspace a Tenant Token belongs to; undefined for an unknown token. */
export type TenantLookup = (tenantToken: string) => Promise<string | undefined>;

// Tenant Tokens are UUIDs; anything much longer is not one and costs no query.
const MAX_TENANT_TOKEN_LENGTH = 100;

const LOOKUP_SQL = 'select id from workspaces where tenant_token = ';

/**
 * Looks the token up on every request, with one prepared statement on the unique index,
 * rather than caching: a regenerated token must stop working at once, on every process.
 */
export function createTenantLookup(database: Database): TenantLookup {
  const sqlite = database.sqlite;
  if (sqlite !== undefined) {
    const statement = sqlite.prepare<[string], { id: string }>(`${LOOKUP_SQL}?`);
    return async (tenantToken) => {
      if (!plausible(tenantToken)) return undefined;
      return statement.get(tenantToken)?.id;
    };
  }

  const pool = database.pool;
  if (pool === undefined) throw new Error('database has neither SQLite nor a pool');
  return async (tenantToken) => {
    if (!plausible(tenantToken)) return undefined;
    const result = await pool.query<{ id: string }>({
      name: 'tenant-token-lookup',
      text: `${LOOKUP_SQL}$1`,
      values: [tenantToken],
    });
    return result.rows[0]?.id;
  };
}

function plausible(tenantToken: string): boolean {
  return tenantToken !== '' && tenantToken.length <= MAX_TENANT_TOKEN_LENGTH;
}

/**
 * The Tenant Token a Segment destination sends: Basic with the token as the user name and
 * an empty password. A bare Bearer token is taken too.
 */
export function tenantTokenFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;

  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value === '' ? undefined : value;
  if (scheme !== 'basic') return undefined;

  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);

  return user === '' ? undefined : user;
}
