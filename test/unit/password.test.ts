import { describe, expect, it } from 'vitest';
import {
  generatePassword,
  hashPassword,
  OWASP_SCRYPT_COST,
  verifyPassword,
} from '../../src/members/password.js';

describe('passwords', () => {
  it('hashes with scrypt at OWASP’s cost by default', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash.startsWith(`scrypt$${2 ** 17}$8$1$`)).toBe(true);
    expect(OWASP_SCRYPT_COST).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('wrong', hash)).toBe(false);
  });

  it('salts every hash and rejects malformed stored values', async () => {
    const cheap = { N: 2 ** 10, r: 8, p: 1 };
    const a = await hashPassword('same', cheap);
    const b = await hashPassword('same', cheap);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same', 'not-a-hash')).toBe(false);
  });

  it('survives a burst of concurrent hashes without failing', async () => {
    const cheap = { N: 2 ** 12, r: 8, p: 1 };
    const hashes = await Promise.all(Array.from({ length: 40 }, () => hashPassword('x', cheap)));
    expect(new Set(hashes).size).toBe(40);
  });

  it('generates passwords of 120 bits', () => {
    expect(generatePassword()).toMatch(/^[A-Za-z0-9_-]{20}$/);
  });
});
