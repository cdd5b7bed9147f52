import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../db/database.js';

/** An end user record, as activities are matched to it. */
export interface KnownEndUser {
  id: string;
  externalId: string | null;
  /** Trimmed and lower-cased. */
  email: string | null;
  companyId: string | null;
}

export interface KnownCompany {
  id: string;
  externalId: string;
}

/**
 * Finds the end users and companies a batch of activities names, a few queries per
 * batch however many people it holds: each takes the batch's keys as one parameter.
 */
export interface PeopleLookup {
  endUsersByExternalId(workspaceId: string, externalIds: string[]): Promise<KnownEndUser[]>;
  /** `emails` trimmed and lower-cased, as the records table keeps them. */
  endUsersByEmail(workspaceId: string, emails: string[]): Promise<KnownEndUser[]>;
  companiesByExternalId(workspaceId: string, externalIds: string[]): Promise<KnownCompany[]>;
}

const END_USER_COLUMNS = `id, external_id as "externalId", email, company_id as "companyId"`;
const COMPANY_COLUMNS = `id, external_id as "externalId"`;

export function createPeopleLookup(database: Database): PeopleLookup {
  if (database.sqlite !== undefined) return sqliteLookup(database.sqlite);
  if (database.pool !== undefined) return postgresLookup(database.pool);
  throw new Error('database has neither SQLite nor a pool');
}

// json_each turns one JSON array parameter into the IN list, so each statement is
// prepared once; SQLite still searches the key index for every value.
function sqliteLookup(sqlite: BetterSqlite3.Database): PeopleLookup {
  const among = (model: string, columns: string, key: string) =>
    sqlite.prepare<[string, string], never>(
      `select ${columns} from records where workspace_id = ? and model = '${model}'
       and ${key} in (select value from json_each(?))`,
    );
  const byExternalId = among('EndUser', END_USER_COLUMNS, 'external_id');
  const byEmail = among('EndUser', END_USER_COLUMNS, 'email');
  const companies = among('Company', COMPANY_COLUMNS, 'external_id');
  const all =
    <T>(statement: BetterSqlite3.Statement<[string, string], never>) =>
    async (workspaceId: string, keys: string[]) =>
      keys.length === 0 ? [] : (statement.all(workspaceId, JSON.stringify(keys)) as T[]);

  return {
    endUsersByExternalId: all<KnownEndUser>(byExternalId),
    endUsersByEmail: all<KnownEndUser>(byEmail),
    companiesByExternalId: all<KnownCompany>(companies),
  };
}

function postgresLookup(pool: pg.Pool): PeopleLookup {
  const among = <T extends pg.QueryResultRow>(model: string, columns: string, key: string) => {
    const text = `select ${columns} from records where workspace_id = $1 and model = '${model}'
      and ${key} = any($2::text[])`;
    const name = `analytics-${model}-by-${key}`;
    return async (workspaceId: string, keys: string[]) => {
      if (keys.length === 0) return [];
      return (await pool.query<T>({ name, text, values: [workspaceId, keys] })).rows;
    };
  };

  return {
    endUsersByExternalId: among<KnownEndUser>('EndUser', END_USER_COLUMNS, 'external_id'),
    endUsersByEmail: among<KnownEndUser>('EndUser', END_USER_COLUMNS, 'email'),
    companiesByExternalId: among<KnownCompany>('Company', COMPANY_COLUMNS, 'external_id'),
  };
}
