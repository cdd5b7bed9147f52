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
  const stopCheckpoints = path === ':memory:' ? () => {} : checkpointOnATimer(sqlite);
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
      stopCheckpoints();
      await db.destroy();
      // Kysely opens its driver lazily and closes only what it opened.
      if (sqlite.open) sqlite.close();
    },
  };
}

/** How often the WAL is copied back into the database file, off the request path. */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** The commit that grows the WAL past this many pages checkpoints itself: a backstop only. */
const AUTOCHECKPOINT_PAGES = 20_000;

/**
 * With SQLite's default, the commit that takes the WAL past 1,000 pages copies it into the
 * database file before it returns. A 5,000-item bulk upsert writes about 1,500 pages, so
 * every such commit paid for a checkpoint, and the index pages that every commit rewrites
 * were copied once per commit. A checkpoint on a timer copies each page once however many
 * commits rewrote it since, and no request waits for it: on 5,000-item commits into
 * 100,000 records, 129 ms a commit against 43, and 4 ms of deferred checkpoint per commit.
 * PASSIVE never waits for readers or writers; what it could not copy, the next one does.
 */
function checkpointOnATimer(sqlite: BetterSqlite3.Database): () => void {
  sqlite.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  // Without it, the WAL file keeps the size of its largest burst after every restart.
  sqlite.pragma('journal_size_limit = 67108864');
  const timer = setInterval(() => {
    // Inside a transaction (one spanning awaits) SQLite refuses; the next tick comes soon.
    if (sqlite.inTransaction) return;
    try {
      sqlite.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Another process holds the lock it needs, or the file went away: the next tick,
      // or the backstop, checkpoints instead.
    }
  }, CHECKPOINT_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
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
      // Kysely ends the pool only when it ran a query itself; a process that used the pool
      // alone would otherwise keep idle connections open, and itself alive, for 30 s.
      if (!pool.ending && !pool.ended) await pool.end();
    },
  };
}

function ignoreCheckedOutError(): void {}

function searchPathSchema(url: string): string | undefined {
  const options = new URL(url).searchParams.get('options') ?? '';
  return /search_path=([A-Za-z_][A-Za-z0-9_]*)/.exec(options)?.[1];
}
