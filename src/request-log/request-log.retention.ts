import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Schema } from '../db/schema.js';
import { deleteExpired, firstSeqSince } from './request-log.repository.js';

export interface RetentionOptions {
  retentionDays: number;
  /** Time between runs; the first run starts shortly after start-up. */
  intervalMs: number;
  /** Rows per delete: small, so no delete holds the database for long. */
  batchRows: number;
  onError(error: unknown): void;
}

export const DEFAULT_RETENTION = { intervalMs: 3_600_000, batchRows: 1_000 } as const;
const FIRST_RUN_DELAY_MS = 30_000;
const DAY_MS = 86_400_000;
/** How far apart a row's request time and its write may be, with room to spare. */
const WRITE_DELAY_SLACK_MS = 5 * 60_000;

/** Deletes request log rows older than the retention, oldest first, in small batches. */
export class RequestLogRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Kysely<Schema>,
    private readonly options: RetentionOptions,
  ) {}

  start(): void {
    this.schedule(Math.min(FIRST_RUN_DELAY_MS, this.options.intervalMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.running?.catch(() => 0);
  }

  /** Deletes every row older than the retention as of `now`; returns how many. */
  async purge(now = Date.now()): Promise<number> {
    this.running ??= this.deleteExpired(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.purge()
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => this.schedule(this.options.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  private async deleteExpired(now: number): Promise<number> {
    const cutoff = now - this.options.retentionDays * DAY_MS;
    const { batchRows } = this.options;
    // Rows are in time order give or take their write delay: past this one, none is old.
    const boundary = await firstSeqSince(this.db, cutoff + WRITE_DELAY_SLACK_MS);
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const deleted = await deleteExpired(this.db, cutoff, boundary, batchRows);
      total += deleted;
      if (deleted < batchRows) return total;
      await nextTurn();
    }
  }
}
