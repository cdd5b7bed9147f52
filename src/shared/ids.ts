import { randomBytes } from 'node:crypto';

/**
 * A 24-hex id in the shape of a MongoDB ObjectId (Planhat's `_id`): four bytes of seconds
 * then eight random bytes, so ids sort roughly by creation and never collide in practice.
 */
export function newId(now = Date.now()): string {
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return seconds + randomBytes(8).toString('hex');
}

export function isObjectId(value: string): boolean {
  return /^[0-9a-f]{24}$/.test(value);
}

export function nowIso(now = Date.now()): string {
  return new Date(now).toISOString();
}
