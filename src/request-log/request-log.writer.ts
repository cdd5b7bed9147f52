import { setImmediate as nextTurn } from 'node:timers/promises';

/** One request made with a known token, as the writer buffers it. `at` is epoch ms. */
export interface RequestLogEntry {
  workspaceId: string;
  appId: string;
  tokenId: string;
  tokenHint: string;
  at: number;
  requestId: string;
  method: string;
  route: string;
  path: string;
  status: number;
  durationMs: number;
  ip: string;
  userAgent: string;
  model: string | null;
  operation: string;
  /** Comma-separated permission actions, such as `create,update`. */
  action: string | null;
  created: number | null;
  updated: number | null;
  errors: number | null;
  /** JSON array of field names. */
  ignoredFields: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  missingPermission: string | null;
  /** The token was accepted; only then does the request count as a use of it. */
  accepted: boolean;
}

/** A token's latest accepted use in a batch: one last-used update per token. */
export interface TokenUse {
  workspaceId: string;
  tokenId: string;
  at: string;
  ip: string;
}

/** Where batches go: each call writes its rows and uses atomically, or throws. */
export interface RequestLogStore {
  write(entries: readonly RequestLogEntry[], uses: readonly TokenUse[]): Promise<void>;
}

export interface RequestLogWriterOptions {
  /** Rows held at most; beyond it new rows are dropped and counted. */
  maxBuffered: number;
  /** A flush starts as soon as this many rows wait. */
  flushRows: number;
  /** Rows per transaction; the event loop gets a turn between them. */
  chunkRows: number;
  /** The longest a row waits before a flush starts. */
  intervalMs: number;
  onWritten(rows: number): void;
  onDropped(rows: number): void;
  /** Once per flush window with the rows dropped in it. */
  warnDropped(rows: number): void;
  onError(error: unknown, rows: number): void;
}

export const DEFAULT_WRITER_OPTIONS = {
  maxBuffered: 50_000,
  flushRows: 500,
  chunkRows: 500,
  intervalMs: 1_000,
} as const;

/**
 * Buffers log rows and writes them in batches off the request path: a request only pushes
 * an object. A full buffer drops rows rather than growing, and says so; a failed write
 * keeps its rows for the next window.
 */
export class RequestLogWriter {
  private buffer: RequestLogEntry[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private droppedInWindow = 0;
  private failing = false;

  constructor(
    private readonly store: RequestLogStore,
    private readonly options: RequestLogWriterOptions,
  ) {}

  get buffered(): number {
    return this.buffer.length;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  enqueue(entry: RequestLogEntry): void {
    if (this.buffer.length >= this.options.maxBuffered) {
      this.drop(1);
      return;
    }
    this.buffer.push(entry);
    if (this.buffer.length >= this.options.flushRows && this.flushing === undefined) {
      if (!this.failing) void this.flush();
    }
  }

  /** Writes everything buffered now; resolves when it is written or has failed. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.buffer.length === 0) return;
    this.flushing = this.drain().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Stops the timer and writes every row left; gives up only if the store fails. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    while (this.buffer.length > 0 || this.flushing !== undefined) {
      await this.flush();
      if (this.failing) break;
    }
    this.warnDrops();
  }

  private tick(): void {
    this.warnDrops();
    if (this.buffer.length > 0) void this.flush();
  }

  private warnDrops(): void {
    if (this.droppedInWindow === 0) return;
    this.options.warnDropped(this.droppedInWindow);
    this.droppedInWindow = 0;
  }

  private drop(rows: number): void {
    this.droppedInWindow += rows;
    this.options.onDropped(rows);
  }

  private async drain(): Promise<void> {
    // Wait a turn so that a size-triggered flush runs after the response that filled it.
    await nextTurn();
    const batch = this.buffer;
    this.buffer = [];
    const { chunkRows } = this.options;
    for (let start = 0; start < batch.length; start += chunkRows) {
      const rows = batch.slice(start, start + chunkRows);
      try {
        // The first chunk carries the whole batch's token uses: if it fails, they are
        // retried with the rows; once it commits, the uses are recorded.
        await this.store.write(rows, start === 0 ? tokenUses(batch) : []);
      } catch (error) {
        this.failing = true;
        this.options.onError(error, batch.length - start);
        this.requeue(batch.slice(start));
        return;
      }
      this.options.onWritten(rows.length);
      if (start + chunkRows < batch.length) await nextTurn();
    }
    this.failing = false;
    // Rows that piled up while this batch was written start the next one.
    if (this.buffer.length >= this.options.flushRows) {
      void Promise.resolve().then(() => this.flush());
    }
  }

  /** Puts unwritten rows back in front of newer ones, dropping what no longer fits. */
  private requeue(rows: RequestLogEntry[]): void {
    const merged = rows.concat(this.buffer);
    const excess = merged.length - this.options.maxBuffered;
    if (excess > 0) {
      merged.length = this.options.maxBuffered;
      this.drop(excess);
    }
    this.buffer = merged;
  }
}

function tokenUses(batch: readonly RequestLogEntry[]): TokenUse[] {
  const latest = new Map<string, RequestLogEntry>();
  for (const entry of batch) {
    if (!entry.accepted) continue;
    const seen = latest.get(entry.tokenId);
    if (seen === undefined || seen.at <= entry.at) latest.set(entry.tokenId, entry);
  }
  return [...latest.values()].map((entry) => ({
    workspaceId: entry.workspaceId,
    tokenId: entry.tokenId,
    at: new Date(entry.at).toISOString(),
    ip: entry.ip,
  }));
}
