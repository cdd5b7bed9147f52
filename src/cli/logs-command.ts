import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import { parseStatus, type LogFilter } from '../request-log/request-log.filters.js';
import {
  findAppWorkspace,
  listLogs,
  publicLog,
  type AppScope,
  type RequestLog,
} from '../request-log/request-log.repository.js';
import { parseDuration } from '../shared/duration.js';
import { notFound } from '../shared/errors.js';
import { parseOptions, required, UsageError, type Output } from './main.js';

export interface LogsCommandOptions {
  /** Ends `--follow`; without one, SIGINT does. */
  signal?: AbortSignal;
  /** How often `--follow` looks for new rows. */
  pollMs?: number;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const FOLLOW_BATCH = 500;

/**
 * `app-center logs --app ID [--since DURATION] [--status 2xx|4xx|5xx|CODE] [--follow]
 * [--json]`: an app's recent requests, newest first. With `--follow`, the recent rows are
 * printed oldest first and every new row after them as it is written, until SIGINT.
 */
export async function runLogsCommand(
  args: string[],
  database: Database,
  io: Output,
  options: LogsCommandOptions = {},
): Promise<number> {
  const { values } = parseOptions(args, {
    app: { type: 'string' },
    workspace: { type: 'string' },
    since: { type: 'string' },
    status: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const appId = required(values, 'app');
  const filter = parseFilter(values.since, values.status);
  const limit = parseLimit(values.limit);
  const workspaceId = values.workspace ?? (await findAppWorkspace(database.db, appId));
  if (workspaceId === undefined) throw notFound('private app');
  const scope: AppScope = { workspaceId, appId };
  const print = (row: RequestLog) => io.out(values.json === true ? json(row) : line(row));

  const recent = await listLogs(database.db, scope, filter, { limit });
  if (values.follow !== true) {
    recent.forEach(print);
    return 0;
  }

  [...recent].reverse().forEach(print);
  const newest = recent.reduce((max, row) => Math.max(max, row.seq), 0);
  await follow(database, scope, filter, newest, print, options);
  return 0;
}

async function follow(
  database: Database,
  scope: AppScope,
  filter: LogFilter,
  afterSeq: number,
  print: (row: RequestLog) => void,
  options: LogsCommandOptions,
): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signal = options.signal ?? controller.signal;
  if (options.signal === undefined) process.once('SIGINT', stop);
  // Whatever arrives now is inside the window; rows are written up to a second late, so
  // their request times may fall just before a short --since.
  const { from: _from, ...live } = filter;
  let last = afterSeq;
  try {
    while (!signal.aborted) {
      const rows = await listLogs(database.db, scope, live, {
        afterSeq: last,
        limit: FOLLOW_BATCH,
      });
      for (const row of rows) {
        print(row);
        last = row.seq;
      }
      if (rows.length === FOLLOW_BATCH) continue;
      await sleep(options.pollMs ?? 1_000, undefined, { signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', stop);
  }
}

function parseFilter(since: string | undefined, status: string | undefined): LogFilter {
  const filter: LogFilter = {};
  if (since !== undefined) {
    const ms = parseDuration(since);
    if (ms === undefined) throw new UsageError('--since must be a duration such as 15m, 2h or 7d');
    filter.from = Date.now() - ms;
  }
  if (status !== undefined) {
    const range = parseStatus(status);
    if (range === undefined) throw new UsageError('--status must be 2xx, 4xx, 5xx or a code');
    filter.status = range;
  }
  return filter;
}

function parseLimit(text: string | undefined): number {
  if (text === undefined) return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > MAX_LIMIT) {
    throw new UsageError(`--limit must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return limit;
}

function json(row: RequestLog): string {
  return JSON.stringify(publicLog(row));
}

function line(row: RequestLog): string {
  const duration = `${row.durationMs.toFixed(1)} ms`.padStart(9);
  const parts = [
    row.at,
    String(row.status),
    row.method.padEnd(6),
    duration,
    row.tokenHint,
    row.path,
  ];
  if (row.errorCode !== null) parts.push(`${row.errorCode}: ${row.errorMessage ?? ''}`.trim());
  return parts.join('  ');
}
