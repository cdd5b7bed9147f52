import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Semaphore } from '../shared/semaphore.js';

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** OWASP's minimum for scrypt: N = 2^17, r = 8, p = 1 (about 128 MiB per hash). */
export const OWASP_SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };

const KEY_LENGTH = 32;

// Each hash holds 128 * N * r bytes; two at once keep a burst of logins from exhausting
// memory or every libuv thread, which would stall file and DNS work for all requests.
const hashing = new Semaphore(2, 64);

function scryptAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_LENGTH, options, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** Hashes as `scrypt$N$r$p$salt$key` so the cost can rise later without breaking old hashes. */
export async function hashPassword(password: string, cost = OWASP_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await hashing.run(() => scryptAsync(password, salt, cost));
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join(
    '$',
  );
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  const [scheme, n, r, p, salt, key] = parts;
  if (parts.length !== 6 || scheme !== 'scrypt' || salt === undefined || key === undefined) {
    return false;
  }
  const expected = Buffer.from(key, 'base64');
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  const actual = await hashing.run(() => scryptAsync(password, Buffer.from(salt, 'base64'), cost));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * A hash of no one's password, checked when the email is unknown so that a wrong email
 * costs the same time as a wrong password and reveals nothing.
 */
export class DecoyHash {
  private hash: Promise<string> | undefined;

  constructor(private readonly cost: ScryptCost) {}

  get(): Promise<string> {
    this.hash ??= hashPassword(randomBytes(16).toString('hex'), this.cost);
    return this.hash;
  }
}

/** A random password for generated first logins: 20 URL-safe characters, 120 bits. */
export function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}
