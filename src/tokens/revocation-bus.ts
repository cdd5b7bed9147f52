import type { Redis } from 'ioredis';
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
  close(): Promise<void>;
}

const CHANNEL = 'app_center_revocations';

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

  async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
  }

  subscribe(listener: (revocation: Revocation) => void): void {
    this.listeners.push(listener);
  }

  protected deliver(revocation: Revocation): void {
    for (const listener of this.listeners) listener(revocation);
  }

  async close(): Promise<void> {}
}

/**
 * PostgreSQL LISTEN/NOTIFY: every process sharing the database hears every revocation.
 * A dedicated client holds the LISTEN; it reconnects after a database restart.
 */
export class PostgresRevocationBus extends LocalRevocationBus {
  private client: pg.Client | undefined;
  private closed = false;

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
      const revocation = message.payload === undefined ? undefined : parse(message.payload);
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

  override async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
    await this.pool.query('select pg_notify($1, $2)', [CHANNEL, JSON.stringify(revocation)]);
  }

  override async close(): Promise<void> {
    this.closed = true;
    const client = this.client as unknown as pg.PoolClient | undefined;
    client?.release(true);
  }
}

/** Redis pub/sub, for deployments that share Redis rather than one PostgreSQL. */
export class RedisRevocationBus extends LocalRevocationBus {
  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
  ) {
    super();
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const revocation = parse(message);
      if (revocation !== undefined) this.deliver(revocation);
    });
    await this.subscriber.subscribe(CHANNEL);
  }

  override async publish(revocation: Revocation): Promise<void> {
    this.deliver(revocation);
    await this.publisher.publish(CHANNEL, JSON.stringify(revocation));
  }

  override async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
