import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkTokenShape,
  generateToken,
  hashToken,
  TOKEN_LENGTH,
  TOKEN_PREFIX,
  tokenHint,
} from '../../src/tokens/token-format.js';

describe('token format', () => {
  it('is a prefix, an underscore, 32 base62 characters and a 6-character checksum', () => {
    const token = generateToken();
    expect(token).toMatch(new RegExp(`^${TOKEN_PREFIX}_[0-9A-Za-z]{38}$`));
    expect(token).toHaveLength(TOKEN_LENGTH);
    expect(checkTokenShape(token)).toBe('valid');
  });

  it('is unique across many draws', () => {
    const tokens = new Set(Array.from({ length: 10_000 }, generateToken));
    expect(tokens.size).toBe(10_000);
  });

  it('catches any single-character change with the checksum', () => {
    const token = generateToken();
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    fc.assert(
      fc.property(
        fc.integer({ min: TOKEN_PREFIX.length + 1, max: TOKEN_LENGTH - 1 }),
        fc.constantFrom(...alphabet),
        (index, char) => {
          fc.pre(token[index] !== char);
          const changed = token.slice(0, index) + char + token.slice(index + 1);
          expect(checkTokenShape(changed)).not.toBe('valid');
        },
      ),
    );
  });

  it('calls anything else malformed', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!text.startsWith(`${TOKEN_PREFIX}_`));
        expect(checkTokenShape(text)).toBe('malformed');
      }),
    );
  });

  it('stores a SHA-256 and shows only the prefix and last four characters', () => {
    const token = generateToken();
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(tokenHint(token)).toBe(`${TOKEN_PREFIX}_…${token.slice(-4)}`);
  });
});
