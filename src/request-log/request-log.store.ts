import { setTimeout as sleep } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Database } from '../db/database.js';
import type { RequestLogEntry, RequestLogStore, TokenUse } from './request-log.writer.js';

/** Column order shared by both stores, with the PostgreSQL array type of each. */
const COLUMNS = [
  ['workspace_id', 'text'],
  ['app_id', 'text'],
  ['token_id', 'text'],
  ['token_hint', 'text'],
  ['at', 'int8'],
  ['request_id', 'text'],
  ['method', 'text'],
  ['route', 'text'],
  ['path', 'text'],
  ['status', 'int4'],
  ['duration_ms', 'float8'],
  ['ip', 'text'],
  ['user_agent', 'text'],
  ['model', 'text'],
  ['operation', 'text'],
  ['action', 'text'],
  ['created_count', 'int4'],
  ['updated_count', 'int4'],
  ['error_count', 'int4'],
  ['ignored_fields', 'text'],
  ['error_code', 'text'],
  ['error_message', 'text'],
  ['missing_permission', 'text'],
] as const;
const WIDTH = COLUMNS.length;
const COLUMN_LIST = COLUMNS.map(([name]) => name).join(', ');

/** Writes one entry's values into `target` from `offset`, in COLUMNS order. */
function putValues(target: unknown[], offset: number, entry: RequestLogEntry): void {
  target[offset] = entry.workspaceId;
  target[offset + 1] = entry.appId;
  target[offset + 2] = entry.tokenId;
  target[offset + 3] = entry.tokenHint;
  target[offset + 4] = entry.at;
  target[offset + 5] = entry.requestId;
  target[offset + 6] = entry.method;
  target[offset + 7] = entry.route;
  target[offset + 8] = entry.path;
  target[offset + 9] = entry.status;
  target[offset + 10] = entry.durationMs;
  target[offset + 11] = entry.ip;
  target[offset + 12] = entry.userAgent;
  target[offset + 13] = entry.model;
  target[offset + 14] = entry.operation;
  target[offset + 15] = entry.action;
  target[offset + 16] = entry.created;
  target[offset + 17] = entry.updated;
  target[offset + 18] = entry.errors;
  target[offset + 19] = entry.ignoredFields;
  target[offset + 20] = entry.errorCode;
  target[offset + 21] = entry.errorMessage;
  target[offset + 22] = entry.missingPermission;
}

export function createRequestLogStore(database: Database): RequestLogStore {
  if (database.sqlite !== undefined) return new SqliteRequestLogStore(database.sqlite);
  if (database.pool !== undefined) return new PostgresRequestLogStore(database.pool);
  throw new Error('database has neither SQLite nor a pool');
}

/** Rows per execution of the multi-row insert; the remainder goes one row at a time. */
const SQLITE_BLOCK_ROWS = 50;
/** How long a flush waits for another transaction on the shared connection to end. */
const SQLITE_TRANSACTION_WAIT_MS = 10_000;

const TOUCH_SQL = `
  update api_tokens set last_used_at = ?, last_used_ip = ?
  where workspace_id = ? and id = ? and (last_used_at is null or last_used_at < ?)`;

/**
 * Statements prepared once, run inside one better-sqlite3 transaction per chunk. The
 * connection is shared with Kysely, so a flush never starts while a Kysely transaction is
 * open on it: its rows would otherwise commit or roll back with someone else's work.
 */
export class SqliteRequestLogStore implements RequestLogStore {
  private readonly block: BetterSqlite3.Statement<unknown[]>;
  private readonly single: BetterSqlite3.Statement<unknown[]>;
  private readonly touch: BetterSqlite3.Statement<unknown[]>;
  private readonly blockValues = new Array<unknown>(SQLITE_BLOCK_ROWS * WIDTH);
  private readonly singleValues = new Array<unknown>(WIDTH);
  private readonly transaction: (
    entries: readonly RequestLogEntry[],
    uses: readonly TokenUse[],
  ) => void;

  constructor(private readonly sqlite: BetterSqlite3.Database) {
    const row = `(${COLUMNS.map(() => '?').join(', ')})`;
    const insert = `insert into request_logs (${COLUMN_LIST}) values `;
    this.block = sqlite.prepare(insert + new Array(SQLITE_BLOCK_ROWS).fill(row).join(', '));
    this.single = sqlite.prepare(insert + row);
    this.touch = sqlite.prepare(TOUCH_SQL);
    this.transaction = sqlite.transaction((entries, uses) => this.insertAll(entries, uses));
  }

  async write(entries: readonly RequestLogEntry[], uses: readonly TokenUse[]): Promise<void> {
    const deadline = Date.now() + SQLITE_TRANSACTION_WAIT_MS;
    while (this.sqlite.inTransaction) {
      if (Date.now() > deadline) throw new Error('a transaction held the connection too long');
      await sleep(2);
    }
    this.transaction(entries, uses);
  }

  private insertAll(entries: readonly RequestLogEntry[], uses: readonly TokenUse[]): void {
    let index = 0;
    for (; index + SQLITE_BLOCK_ROWS <= entries.length; index += SQLITE_BLOCK_ROWS) {
      for (let row = 0; row < SQLITE_BLOCK_ROWS; row += 1) {
        putValues(this.blockValues, row * WIDTH, entries[index + row] as RequestLogEntry);
      }
      this.block.run(this.blockValues);
    }
    for (; index < entries.length; index += 1) {
      putValues(this.singleValues, 0, entries[index] as RequestLogEntry);
      this.single.run(this.singleValues);
    }
    for (const use of uses) this.touch.run(use.at, use.ip, use.workspaceId, use.tokenId, use.at);
  }
}

const POSTGRES_BATCH_SQL = `
  with inserted as (
    insert into request_logs (${COLUMN_LIST})
    select * from unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
  ), touched as (
    update api_tokens t set last_used_at = u.at, last_used_ip = u.ip
    from unnest($${WIDTH + 1}::text[], $${WIDTH + 2}::text[], $${WIDTH + 3}::text[],
                $${WIDTH + 4}::text[]) as u(workspace_id, id, at, ip)
    where t.workspace_id = u.workspace_id and t.id = u.id
      and (t.last_used_at is null or t.last_used_at < u.at)
  )
  select 1`;

/**
 * One statement per chunk: every column as an array, unnested into a multi-row insert,
 * with the token updates in the same statement so both commit together.
 */
export class PostgresRequestLogStore implements RequestLogStore {
  constructor(private readonly pool: pg.Pool) {}

  async write(entries: readonly RequestLogEntry[], uses: readonly TokenUse[]): Promise<void> {
    const columns = COLUMNS.map(() => new Array<unknown>(entries.length));
    const row = new Array<unknown>(WIDTH);
    entries.forEach((entry, index) => {
      putValues(row, 0, entry);
      for (let column = 0; column < WIDTH; column += 1) {
        (columns[column] as unknown[])[index] = row[column];
      }
    });
    await this.pool.query({
      name: 'request-log-batch',
      text: POSTGRES_BATCH_SQL,
      values: [
        ...columns,
        uses.map((use) => use.workspaceId),
        uses.map((use) => use.tokenId),
        uses.map((use) => use.at),
        uses.map((use) => use.ip),
      ],
    });
  }
}
