import { createHash, randomUUID } from 'node:crypto';
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
   * For buses that cannot push: delivers what other processes committed before the call,
   * resolving once it has (undefined when there is nothing to wait for). Verification
   * awaits it before trusting its cache.
   */
  sync(): Promise<void> | undefined;
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

  sync(): Promise<void> | undefined {
    return undefined;
  }

  async close(): Promise<void> {}
}

/**
 * Processes sharing one SQLite file (workers, the command line) append revocations to a
 * table. `PRAGMA data_version` changes only when another connection wrote the file, so a
 * quiet database costs one pragma and no query.
 *
 * The pragma takes a read lock, which costs as much as the cached verification it guards,
 * so the requests of one turn of the event loop share one check: `sync` callers wait for a
 * check run in the check phase, after every one of them was received. A revocation that
 * answered before a request was sent has committed before that check, so it is seen.
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

  private check: Promise<void> | undefined;

  override sync(): Promise<void> {
    this.check ??= new Promise((resolve, reject) => {
      setImmediate(() => {
        this.check = undefined;
        try {
          this.deliverCommitted();
          resolve();
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    return this.check;
  }

  private deliverCommitted(): void {
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

interface Announcement {
  id: string;
  revocation: Revocation;
}

function parseMessage(payload: string): Announcement | { ack: string } | undefined {
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    if (typeof value.ack === 'string') return { ack: value.ack };
    const revocation = value.revocation as Revocation | undefined;
    if (typeof value.id !== 'string' || typeof revocation !== 'object' || revocation === null) {
      return undefined;
    }
    return 'kind' in revocation ? { id: value.id, revocation } : undefined;
  } catch {
    return undefined;
  }
}

/** How long a revocation waits for every process's acknowledgement before answering. */
const ACK_WAIT_MS = 2_000;

/**
 * PostgreSQL LISTEN/NOTIFY: every process sharing the database and schema hears every
 * revocation. A dedicated client holds the LISTEN; it reconnects after a database restart.
 *
 * Hearing a notification is not enough for "revoked everywhere once the call answers": the
 * other process may still have it unread on its socket when the caller's next request
 * reaches it. So each listener acknowledges a revocation after evicting it, and `publish`
 * returns once every listener counted in `pg_stat_activity` has, or after ACK_WAIT_MS,
 * so a hung process can slow a revocation but never stall it.
 */
export class PostgresRevocationBus extends LocalRevocationBus {
  private client: pg.Client | undefined;
  private closed = false;
  /** The NOTIFY channel, and the application name listeners are counted by. */
  readonly channel: string;
  private readonly awaiting = new Map<string, { remaining: number; heard: () => void }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (error: Error) => void,
    /** Installations in other schemas of the same database keep to themselves. */
    schema: string | undefined = undefined,
  ) {
    super();
    const scope = createHash('sha256')
      .update(schema ?? '')
      .digest('hex');
    this.channel = `app_center_revocations_${scope.slice(0, 16)}`;
  }

  async start(): Promise<void> {
    const client = await this.pool.connect();
    // Held for the life of the process, outside the pool's rotation.
    const raw = client as unknown as pg.Client;
    raw.on('notification', (message) => {
      if (message.payload !== undefined) this.receive(message.payload);
    });
    raw.on('error', (error) => {
      this.onError(error);
      client.release(true);
      this.client = undefined;
      if (!this.closed) this.restartSoon();
    });
    await client.query(`set application_name = '${this.channel}'`);
    await client.query(`listen "${this.channel}"`);
    this.client = raw;
  }

  private receive(payload: string): void {
    const message = parseMessage(payload);
    if (message === undefined) return;
    if ('ack' in message) {
      this.acknowledged(message.ack);
      return;
    }
    if (this.awaiting.has(message.id)) {
      // Our own announcement: delivered here already, before it was sent.
      this.acknowledged(message.id);
      return;
    }
    this.deliver(message.revocation);
    this.notify({ ack: message.id }).catch((error: Error) => this.onError(error));
  }

  private acknowledged(id: string): void {
    const waiting = this.awaiting.get(id);
    if (waiting === undefined) return;
    waiting.remaining -= 1;
    if (waiting.remaining <= 0) waiting.heard();
  }

  private async notify(message: Announcement | { ack: string }): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [this.channel, JSON.stringify(message)]);
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

  override async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
    const id = randomUUID();
    // Without our own listener no acknowledgement could reach us: announce and go on.
    if (this.client === undefined) return this.notify({ id, revocation });
    const listeners = await this.pool.query<{ count: number }>(
      `select count(*)::int as count from pg_stat_activity
        where datname = current_database() and application_name = $1`,
      [this.channel],
    );
    const expected = listeners.rows[0]?.count ?? 1;
    let timer: NodeJS.Timeout | undefined;
    const allHeard = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ACK_WAIT_MS);
      this.awaiting.set(id, { remaining: expected, heard: () => resolve(true) });
    });
    try {
      await this.notify({ id, revocation });
      if (!(await allHeard)) {
        this.onError(new Error(`a revocation was not acknowledged in ${ACK_WAIT_MS} ms`));
      }
    } finally {
      clearTimeout(timer);
      this.awaiting.delete(id);
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    const client = this.client as unknown as pg.PoolClient | undefined;
    this.client = undefined;
    client?.release(true);
  }
}
