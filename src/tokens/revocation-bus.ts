import { randomUUID } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';

/** Something whose cached verification must end now, on every process. */
export type Revocation =
  | { kind: 'token'; tokenHash: string }
  | { kind: 'app'; appId: string }
  | { kind: 'tenant'; workspaceId: string };

export interface RevocationBus {
  /** Tells every process, this one first and synchronously. */
  publish(revocation: Revocation): Promise<void>;
  subscribe(listener: (revocation: Revocation) => void): void;
  /**
   * Delivers what other processes published since the last call, for buses that cannot
   * push. Verification calls it before trusting its cache.
   */
  sync(): void;
  /**
   * Marks a revocation as in progress, from before its commit until `publish` has run, so
   * that no request in between is answered from the cache. Returns the release.
   */
  hold(revocation: Revocation): () => void;
  /** Whether verification of this token must skip the cache right now. */
  isHeld(tokenHash: string, appId: string, workspaceId: string): boolean;
  /** Grows with every hold and every delivered revocation. */
  readonly generation: number;
  close(): Promise<void>;
}

const CHANNEL = 'app_center_revocations';
const ECHO_WAIT_MS = 200;

function heldKey(revocation: Revocation): string {
  switch (revocation.kind) {
    case 'token':
      return `token:${revocation.tokenHash}`;
    case 'app':
      return `app:${revocation.appId}`;
    case 'tenant':
      return `tenant:${revocation.workspaceId}`;
  }
}

function parse(message: string): Revocation | undefined {
  try {
    const value = JSON.parse(message) as Revocation;
    return typeof value === 'object' && value !== null && 'kind' in value ? value : undefined;
  } catch {
    return undefined;
  }
}

/** One process: listeners are called in place. */
export class LocalRevocationBus implements RevocationBus {
  protected readonly listeners: Array<(revocation: Revocation) => void> = [];
  private readonly held = new Map<string, number>();
  generation = 0;

  hold(revocation: Revocation): () => void {
    this.generation += 1;
    const key = heldKey(revocation);
    this.held.set(key, (this.held.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  isHeld(tokenHash: string, appId: string, workspaceId: string): boolean {
    if (this.held.size === 0) return false;
    return (
      this.held.has(`token:${tokenHash}`) ||
      this.held.has(`app:${appId}`) ||
      this.held.has(`tenant:${workspaceId}`)
    );
  }

  async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
  }

  subscribe(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }

  protected deliver(revocation: Revocation): void {
    this.generation += 1;
    for (const listener of this.listeners) listener(revocation);
  }

  sync(): void {}

  async close(): Promise<void> {}
}

/**
 * Processes sharing one SQLite file (workers, the command line) append revocations to a
 * table. `PRAGMA data_version` changes only when another connection wrote the file, so a
 * quiet database costs one pragma per verification and no query.
 */
export class SqliteRevocationBus extends LocalRevocationBus {
  private readonly insert: BetterSqlite3.Statement<[string, string]>;
  private readonly since: BetterSqlite3.Statement<[number], { seq: number; payload: string }>;
  private readonly dataVersion: BetterSqlite3.Statement<[], { data_version: number }>;
  private lastSeq: number;
  private lastVersion: number;

  constructor(private readonly sqlite: BetterSqlite3.Database) {
    super();
    this.insert = sqlite.prepare('insert into revocations (payload, at) values (?, ?)');
    this.since = sqlite.prepare('select seq, payload from revocations where seq > ? order by seq');
    this.dataVersion = sqlite.prepare('pragma data_version');
    const last = sqlite.prepare('select max(seq) as seq from revocations').get() as
      { seq: number | null } | undefined;
    this.lastSeq = last?.seq ?? 0;
    this.lastVersion = this.readVersion();
  }

  override async publish(revocation: Revocation): Promise<void> {
    const result = this.insert.run(JSON.stringify(revocation), new Date().toISOString());
    this.lastSeq = Math.max(this.lastSeq, Number(result.lastInsertRowid));
    this.deliver(revocation);
  }

  override sync(): void {
    const version = this.readVersion();
    if (version === this.lastVersion) return;
    this.lastVersion = version;
    for (const row of this.since.all(this.lastSeq)) {
      this.lastSeq = row.seq;
      const revocation = parse(row.payload);
      if (revocation !== undefined) this.deliver(revocation);
    }
  }

  private readVersion(): number {
    return this.dataVersion.get()?.data_version ?? 0;
  }
}

/**
 * PostgreSQL LISTEN/NOTIFY: every process sharing the database hears every revocation.
 * A dedicated client holds the LISTEN; it reconnects after a database restart.
 */
export class PostgresRevocationBus extends LocalRevocationBus {
  private client: pg.Client | undefined;
  private closed = false;
  private readonly echoes = new Map<string, () => void>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (error: Error) => void,
  ) {
    super();
  }

  async start(): Promise<void> {
    const client = await this.pool.connect();
    // Held for the life of the process, outside the pool's rotation.
    const raw = client as unknown as pg.Client;
    raw.on('notification', (message) => {
      if (message.payload === undefined) return;
      const echo = this.echoes.get(message.payload);
      if (echo !== undefined) {
        echo();
        return;
      }
      const revocation = parse(message.payload);
      if (revocation !== undefined) this.deliver(revocation);
    });
    raw.on('error', (error) => {
      this.onError(error);
      client.release(true);
      this.client = undefined;
      if (!this.closed) this.restartSoon();
    });
    await client.query(`listen ${CHANNEL}`);
    this.client = raw;
  }

  private restartSoon(): void {
    setTimeout(() => {
      if (this.closed) return;
      this.start().catch((error: Error) => {
        this.onError(error);
        this.restartSoon();
      });
    }, 1_000).unref();
  }

  /**
   * PostgreSQL sends a notification to every listener at once, this process included, so
   * waiting for our own copy means the other processes' copies are on their sockets too
   * before the caller answers. The wait is bounded: a lost echo never holds a request.
   */
  override async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
    const payload = JSON.stringify({ ...revocation, echo: randomUUID() });
    const echoed =
      this.client === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const timer = setTimeout(done, ECHO_WAIT_MS);
            function done() {
              clearTimeout(timer);
              resolve();
            }
            this.echoes.set(payload, done);
          });
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, payload]);
    await echoed;
    this.echoes.delete(payload);
  }

  override async close(): Promise<void> {
    this.closed = true;
    const client = this.client as unknown as pg.PoolClient | undefined;
    client?.release(true);
  }
}
