import { invalidField } from '../shared/errors.js';

/** A status class (`4xx`) or one exact code, as an inclusive range. */
export interface StatusRange {
  min: number;
  max: number;
}

/** What the Logs tab, the export and the CLI filter on. Times are epoch ms, `to` exclusive. */
export interface LogFilter {
  from?: number;
  to?: number;
  method?: string;
  status?: StatusRange;
  path?: string;
  tokenId?: string;
  errorCode?: string;
}

/** Parses `2xx`..`5xx` or a three-digit code; undefined if it is neither. */
export function parseStatus(text: string): StatusRange | undefined {
  const value = text.trim().toLowerCase();
  const family = /^([1-5])xx$/.exec(value);
  if (family !== null) {
    const base = Number(family[1]) * 100;
    return { min: base, max: base + 99 };
  }
  if (!/^[1-5]\d\d$/.test(value)) return undefined;
  const code = Number(value);
  return { min: code, max: code };
}

/** Accepts ISO 8601 date-times and epoch milliseconds. */
export function parseTime(text: string, field: string): number {
  const value = text.trim();
  const at = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(at)) {
    throw invalidField(field, 'must be an ISO 8601 date-time or epoch milliseconds');
  }
  return at;
}

const CURSOR_PREFIX = 'v1:';

/** Cursors are opaque to clients: the last row's time and sequence number, encoded. */
export function encodeCursor(position: { at: number; seq: number }): string {
  return Buffer.from(`${CURSOR_PREFIX}${position.at}:${position.seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): { at: number; seq: number } {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^v1:(\d{1,15}):(\d{1,15})$/.exec(text);
  if (match === null) throw invalidField('cursor', 'is not a valid cursor');
  return { at: Number(match[1]), seq: Number(match[2]) };
}

export interface RawLogQuery {
  from?: string;
  to?: string;
  method?: string;
  status?: string;
  path?: string;
  tokenId?: string;
  errorCode?: string;
}

/** Turns query-string filters into a LogFilter, naming the parameter at fault. */
export function toLogFilter(query: RawLogQuery): LogFilter {
  const filter: LogFilter = {};
  if (query.from !== undefined) filter.from = parseTime(query.from, 'from');
  if (query.to !== undefined) filter.to = parseTime(query.to, 'to');
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
    throw invalidField('from', 'must not be after to');
  }
  if (query.method !== undefined) filter.method = query.method.toUpperCase();
  if (query.status !== undefined) {
    const status = parseStatus(query.status);
    if (status === undefined)
      throw invalidField('status', 'must be 2xx, 4xx, 5xx or a status code');
    filter.status = status;
  }
  if (query.path !== undefined && query.path !== '') filter.path = query.path;
  if (query.tokenId !== undefined) filter.tokenId = query.tokenId;
  if (query.errorCode !== undefined) filter.errorCode = query.errorCode;
  return filter;
}
