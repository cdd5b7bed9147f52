import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type Transaction,
} from 'kysely';
import pg from 'pg';
import type { DatabaseTarget } from '../config/config.js';
import type { Schema } from './schema.js';

export type Dialect = DatabaseTarget['dialect'];
export type Executor = Kysely<Schema> | Transaction<Schema>;

export interface Database {
  dialect: Dialect;
  db: Kysely<Schema>;
  /** The raw handle, for hot paths that reuse prepared statements. */
  sqlite: BetterSqlite3.Database | undefined;
  pool: pg.Pool | undefined;
  /** The PostgreSQL schema tables live in, when the URL sets a search_path. */
  schema: string | undefined;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Called for errors on idle pooled connections, which would otherwise crash the process. */
  onPoolError?: (error: Error) => void;
}

export function openDatabase(target: DatabaseTarget, options: DatabaseOptions = {}): Database {
  return target.dialect === 'sqlite'
    ? openSqlite(target.path)
    : openPostgres(target.url, options.onPoolError ?? (() => {}));
}

function openSqlite(path: string): Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const sqlite = new BetterSqlite3(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  // SQLite's default page cache is 2 MiB, which a workspace's record and audit indexes
  // outgrow at a few tens of thousands of records; past that, each write of a bulk
  // upsert reads index pages back from the OS. 64 MiB (a negative size is in KiB) is
  // only taken as pages are read.
  sqlite.pragma('cache_size = -65536');
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
  return {
    dialect: 'sqlite',
    db,
    sqlite,
    pool: undefined,
    schema: undefined,
    async ping() {
      sqlite.prepare('select 1').get();
    },
    async close() {
      await db.destroy();
      // Kysely opens its driver lazily and closes only what it opened.
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * Transactions here write. A deferred `begin` takes the write lock only at the first write,
 * and when another process sharing the file committed in between, SQLite cannot wait for
 * it and fails with SQLITE_BUSY at once; `begin immediate` waits for the lock up front.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

// int8 and numeric come back as strings by default; counts and sums here fit a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number(value));

function openPostgres(url: string, onPoolError: (error: Error) => void): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    query_timeout: 30_000,
  });
  pool.on('error', onPoolError);
  // The pool hears errors only on idle clients. A checked-out client whose connection drops
  // emits 'error' too, which unheard would end the process; its query fails on its own and
  // the pool discards the broken client on release.
  pool.on('connect', (client) => client.on('error', ignoreCheckedOutError));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    db,
    sqlite: undefined,
    pool,
    schema: searchPathSchema(url),
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await db.destroy();
    },
  };
}

function ignoreCheckedOutError(): void {}

function searchPathSchema(url: string): string | undefined {
  const options = new URL(url).searchParams.get('options') ?? '';
  return /search_path=([A-Za-z_][A-Za-z0-9_]*)/.exec(options)?.[1];
}
