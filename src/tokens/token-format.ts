import { hash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API Access Tokens look like `apc_<32 base62 random><6 base62 CRC32>`. The prefix lets
 * secret scanners find them; the checksum lets anyone (scanner or server) reject a typo or
 * a made-up token offline, before any database work.
 */
export const TOKEN_PREFIX = 'apc';
const RANDOM_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const TOKEN_PATTERN = new RegExp(
  `^${TOKEN_PREFIX}_[0-9A-Za-z]{${RANDOM_LENGTH}}[0-9A-Za-z]{${CHECKSUM_LENGTH}}$`,
);
export const TOKEN_LENGTH = TOKEN_PREFIX.length + 1 + RANDOM_LENGTH + CHECKSUM_LENGTH;

/** 32 base62 characters: about 190 bits, far past the 112 bits a plain hash needs. */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 * 62: dropping bytes above it keeps every character equally likely.
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function base62Checksum(body: string): string {
  let value = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i += 1) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export function generateToken(): string {
  const body = `${TOKEN_PREFIX}_${randomBase62(RANDOM_LENGTH)}`;
  return body + base62Checksum(body);
}

export type TokenShape = 'valid' | 'malformed' | 'bad_checksum';

/** Checks the format and checksum without any I/O. */
export function checkTokenShape(token: string): TokenShape {
  if (token.length !== TOKEN_LENGTH || !TOKEN_PATTERN.test(token)) return 'malformed';
  const body = token.slice(0, -CHECKSUM_LENGTH);
  return base62Checksum(body) === token.slice(-CHECKSUM_LENGTH) ? 'valid' : 'bad_checksum';
}

/** What is stored and indexed: the SHA-256 of the whole token, hex. */
export function hashToken(token: string): string {
  return hash('sha256', token);
}

/** The only part ever shown again: the prefix and the last four characters. */
export function tokenHint(token: string): string {
  return `${TOKEN_PREFIX}_…${token.slice(-4)}`;
}
