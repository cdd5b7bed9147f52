/**
 * Whether an error means the database could not be reached or would not take the query
 * right now, as opposed to a query that is wrong. Such a failure passes once the database
 * is back, so callers answer "retry later" rather than "internal error".
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Drivers and pools wrap the socket error they met; look a few causes deep.
  let current = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if (isUnavailableHere(current)) return true;
    current = current.cause;
  }
  return false;
}

/** Node's codes for a socket that could not connect or was cut. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs for a server that is going down, starting up or full: admin_shutdown,
 * crash_shutdown, cannot_connect_now and too_many_connections. Class 08 (connection
 * exception) is matched by its prefix.
 */
const POSTGRES_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** What node-postgres says, with no code, when a connection could not be had or was lost. */
const POSTGRES_MESSAGES = [
  /^timeout exceeded when trying to connect/,
  /^Connection terminated/,
  /^Client has encountered a connection error/,
  /^Client was closed and is not queryable/,
];

function isUnavailableHere(error: Error): boolean {
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  if (code !== undefined) {
    if (SOCKET_CODES.has(code) || POSTGRES_STATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
    // The lock still held once busy_timeout ran out: another writer is in the way.
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return true;
  }
  if (error instanceof AggregateError && error.errors.some(isDatabaseUnavailable)) return true;
  return POSTGRES_MESSAGES.some((pattern) => pattern.test(error.message));
}
