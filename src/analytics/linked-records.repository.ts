import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../db/database.js';

/** A workspace record that analytics data points at: an end user, company, asset... */
export interface LinkedRecord {
  id: string;
  externalId: string | null;
  /** Trimmed and lower-cased; null for models without an email. */
  email: string | null;
  /** The company the record belongs to; for a company, null. */
  companyId: string | null;
}

export type RecordKey = 'id' | 'external_id' | 'source_id' | 'email';

/**
 * Finds the records a batch of analytics items names, one query per model and kind of
 * key however many items the batch holds: each takes the batch's keys as one parameter.
 */
export interface LinkedRecords {
  /** Whether the workspace holds any record of these models: when not, nothing can link. */
  hasAny(workspaceId: string, models: readonly string[]): Promise<boolean>;
  find(
    workspaceId: string,
    model: string,
    key: RecordKey,
    values: string[],
  ): Promise<LinkedRecord[]>;
  /** Company names by id, for the companies that exist. */
  companyNames(workspaceId: string, ids: string[]): Promise<Map<string, string>>;
}

const COLUMNS = `id, external_id as "externalId", email, company_id as "companyId"`;
const KEYS: readonly RecordKey[] = ['id', 'external_id', 'source_id', 'email'];

export function createLinkedRecords(database: Database): LinkedRecords {
  if (database.sqlite !== undefined) return sqliteRecords(database.sqlite);
  if (database.pool !== undefined) return postgresRecords(database.pool);
  throw new Error('database has neither SQLite nor a pool');
}

// json_each turns one JSON array parameter into the IN list, so each statement is
// prepared once; SQLite still searches the key index for every value.
function sqliteRecords(sqlite: BetterSqlite3.Database): LinkedRecords {
  const statements = new Map(
    KEYS.map((key) => [
      key,
      sqlite.prepare<[string, string, string], LinkedRecord>(
        `select ${COLUMNS} from records where workspace_id = ? and model = ?
         and ${key} in (select value from json_each(?))`,
      ),
    ]),
  );
  // A literal IN list is one key lookup per model; json_each would build a table first.
  const anyOf = new Map<number, BetterSqlite3.Statement<string[], number>>();
  const any = (count: number) => {
    let statement = anyOf.get(count);
    if (statement === undefined) {
      const marks = Array(count).fill('?').join(', ');
      statement = sqlite
        .prepare<string[], number>(
          `select 1 from records where workspace_id = ? and model in (${marks}) limit 1`,
        )
        .pluck();
      anyOf.set(count, statement);
    }
    return statement;
  };
  const names = sqlite.prepare<[string, string], { id: string; name: unknown }>(
    `select id, doc ->> '$.name' as name from records
     where workspace_id = ? and model = 'Company' and id in (select value from json_each(?))`,
  );

  return {
    async hasAny(workspaceId, models) {
      if (models.length === 0) return false;
      return any(models.length).get(workspaceId, ...models) !== undefined;
    },
    async find(workspaceId, model, key, values) {
      if (values.length === 0) return [];
      const statement = statements.get(key);
      if (statement === undefined) throw new Error(`no lookup by ${key}`);
      return statement.all(workspaceId, model, JSON.stringify(values));
    },
    async companyNames(workspaceId, ids) {
      if (ids.length === 0) return new Map();
      return namesOf(names.all(workspaceId, JSON.stringify(ids)));
    },
  };
}

function postgresRecords(pool: pg.Pool): LinkedRecords {
  return {
    async hasAny(workspaceId, models) {
      const result = await pool.query({
        name: 'analytics-records-any',
        text: 'select 1 from records where workspace_id = $1 and model = any($2::text[]) limit 1',
        values: [workspaceId, models],
      });
      return result.rows.length > 0;
    },
    async find(workspaceId, model, key, values) {
      if (!KEYS.includes(key)) throw new Error(`no lookup by ${key}`);
      if (values.length === 0) return [];
      const result = await pool.query<LinkedRecord>({
        name: `analytics-records-by-${key}`,
        text: `select ${COLUMNS} from records where workspace_id = $1 and model = $2
          and ${key} = any($3::text[])`,
        values: [workspaceId, model, values],
      });
      return result.rows;
    },
    async companyNames(workspaceId, ids) {
      if (ids.length === 0) return new Map();
      const result = await pool.query<{ id: string; name: unknown }>({
        name: 'analytics-company-names',
        text: `select id, doc::jsonb ->> 'name' as name from records
          where workspace_id = $1 and model = 'Company' and id = any($2::text[])`,
        values: [workspaceId, ids],
      });
      return namesOf(result.rows);
    },
  };
}

function namesOf(rows: { id: string; name: unknown }[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const { id, name } of rows) if (typeof name === 'string') names.set(id, name);
  return names;
}
