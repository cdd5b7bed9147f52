import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BodyTooLargeError,
  BudgetExhaustedError,
  ByteBudget,
  JsonScanner,
  JsonSyntaxError,
  MAX_NESTING,
  parseBatch,
  readJsonBody,
  type ItemBatch,
  type ReadLimits,
  type ScannedBody,
} from '../../src/analytics/json-stream.js';

const LIMITS: ReadLimits = {
  maxBytes: 1024 * 1024,
  batchItems: 3,
  batchBytes: 1024,
  maxItemBytes: 200,
};

/** Scans the text fed in pieces of `step` bytes; the item texts, or the error message. */
function scan(text: string | Buffer, step = Infinity) {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const items: string[] = [];
  const scanner = new JsonScanner((start, end) => items.push(bytes.toString('utf8', start, end)));
  try {
    for (let at = 0; at < bytes.length; at += Math.min(step, bytes.length)) {
      scanner.write(bytes.subarray(at, at + step));
    }
    scanner.end();
    return { shape: scanner.shape, items };
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error.message;
    throw error;
  }
}

function readText(text: string, limits = LIMITS, pieces = 3) {
  const bytes = Buffer.from(text);
  const size = Math.ceil(bytes.length / pieces) || 1;
  const chunks = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return readJsonBody(Readable.from(chunks), limits);
}

describe('JsonScanner', () => {
  it('reports each element of a top-level array', () => {
    expect(scan(' [1, -2.5e+3, "a\\"]b", {"x": [1, {}]}, [], true, null, false] ')).toEqual({
      shape: 'array',
      items: ['1', '-2.5e+3', '"a\\"]b"', '{"x": [1, {}]}', '[]', 'true', 'null', 'false'],
    });
    expect(scan('[]')).toEqual({ shape: 'array', items: [] });
  });

  it('reads any other top-level value as a single item', () => {
    expect(scan('{"email": "a@b.c"}')).toEqual({ shape: 'single', items: ['{"email": "a@b.c"}'] });
    expect(scan(' 42 ')).toEqual({ shape: 'single', items: ['42'] });
    expect(scan('"text"')).toEqual({ shape: 'single', items: ['"text"'] });
  });

  it('skips a UTF-8 byte order mark', () => {
    expect(scan('\ufeff[{"a":1}]')).toEqual({ shape: 'array', items: ['{"a":1}'] });
  });

  it('refuses what JSON.parse refuses, saying where', () => {
    const cases: Array<[string, string]> = [
      ['', 'The body is empty'],
      ['   ', 'The body is empty'],
      ['[', 'ends early at byte 1'],
      ['[1,]', 'expected a value at byte 3'],
      ['{"a" 1}', 'expected ":" after an object key at byte 5'],
      ['{"a":1,}', 'expected a string key at byte 7'],
      ['[01]', 'a number with a leading zero at byte 2'],
      ['[1.]', 'expected a digit after the decimal point at byte 3'],
      ['["\\x"]', 'an invalid escape in a string at byte 3'],
      ['["\\u12G4"]', 'an invalid \\u escape at byte 6'],
      ['["a\nb"]', 'a control character inside a string at byte 3'],
      ['[1] 2', 'unexpected data at byte 4'],
      ['[tru]', 'expected "true" at byte 4'],
      ['{"a":1]', 'expected "," or "}" at byte 6'],
      ['1.5e', 'ends early at byte 4'],
      ["{'a':1}", 'expected a string key at byte 1'],
      ['[NaN]', 'expected a value at byte 1'],
    ];
    for (const [text, message] of cases) {
      expect(() => JSON.parse(text), text).toThrow();
      expect(scan(text), text).toEqual(expect.stringContaining(message));
    }
  });

  it('refuses nesting deeper than its limit', () => {
    const deep = `${'['.repeat(MAX_NESTING + 1)}${']'.repeat(MAX_NESTING + 1)}`;
    expect(scan(deep)).toEqual(expect.stringContaining(`deeper than ${MAX_NESTING} levels`));
    const allowed = `${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}`;
    expect(scan(allowed)).toMatchObject({ shape: 'array' });
  });

  it('agrees with JSON.parse on any JSON value, however the bytes are split', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), fc.integer({ min: 1, max: 17 }), (values, step) => {
        const text = JSON.stringify(values, null, step % 3 === 0 ? 1 : undefined);
        const result = scan(text, step);
        expect(result).toEqual({ shape: 'array', items: expect.any(Array) });
        const items = (result as { items: string[] }).items;
        expect(items.map((item) => JSON.parse(item) as unknown)).toEqual(JSON.parse(text));
      }),
    );
  });

  it('agrees with JSON.parse on which texts are JSON', () => {
    const fragments = [
      '[',
      ']',
      '{',
      '}',
      ',',
      ':',
      '"a"',
      '1',
      '-',
      '.5',
      'e',
      'true',
      'nul',
      ' ',
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...fragments), { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        expect(typeof scan(text, 2) !== 'string', text).toBe(valid);
      }),
    );
  });
});

describe('readJsonBody', () => {
  it('groups items into batches by count and by size, and parses each batch', async () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ i }));
    const body = await readText(JSON.stringify(items));
    expect(body.items).toBe(7);
    expect(body.batches.map((batch) => batch.count)).toEqual([3, 3, 1]);
    expect(body.batches.flatMap((batch) => parseBatch(body.body, batch))).toEqual(items);

    const wide = Array.from({ length: 4 }, () => ({ text: 'x'.repeat(150) }));
    const bySize = await readText(JSON.stringify(wide), { ...LIMITS, batchBytes: 300 });
    expect(bySize.batches.map((batch) => batch.count)).toEqual([2, 2]);
  });

  it('sets an item over the size limit apart, unparsed', async () => {
    const body = await readText(JSON.stringify([{ a: 1 }, { big: 'x'.repeat(300) }, { b: 2 }]));
    expect(body.batches.map(({ count, oversize }) => ({ count, oversize }))).toEqual([
      { count: 1, oversize: false },
      { count: 1, oversize: true },
      { count: 1, oversize: false },
    ]);
  });

  it('stops at the byte limit and at the first malformed byte', async () => {
    const limits = { ...LIMITS, maxBytes: 100 };
    await expect(readText(`[${'1,'.repeat(100)}1]`, limits)).rejects.toBeInstanceOf(
      BodyTooLargeError,
    );
    await expect(readText('[1, 2, oops]')).rejects.toBeInstanceOf(JsonSyntaxError);
  });

  it('holds bodies within a budget shared by all readers, and gives it back', async () => {
    const budget = new ByteBudget(100);
    const first = await readJsonBody(Readable.from([Buffer.from('[1,2,3]')]), LIMITS, budget);
    expect(budget.held).toBe(7);

    const tooMuch = readJsonBody(
      Readable.from([Buffer.from(`[${'1,'.repeat(50)}1]`)]),
      LIMITS,
      budget,
    );
    await expect(tooMuch).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(budget.held).toBe(7);

    first.release();
    first.release();
    expect(budget.held).toBe(0);
    await expect(readText('[1', LIMITS)).rejects.toBeInstanceOf(JsonSyntaxError);
  });

  it('reads a body within a batch whole, as the scanner would', async () => {
    const whole = { ...LIMITS, maxItemBytes: 1024 * 1024, batchBytes: 1024 * 1024 };
    const texts = fc.oneof(
      fc.array(fc.jsonValue(), { maxLength: 8 }).map((values) => JSON.stringify(values)),
      fc.jsonValue().map((value) => ` ${JSON.stringify(value)} `),
    );
    await fc.assert(
      fc.asyncProperty(texts, async (text) => {
        const [parsed, scanned] = await Promise.all([readText(text, whole), readText(text)]);
        const shown = (body: ScannedBody) => ({
          shape: body.shape,
          items: body.items,
          values: body.batches.flatMap((batch) => parseBatch(body.body, batch)),
        });
        expect(parsed.batches.every((batch) => batch.parsed !== undefined)).toBe(true);
        if (Buffer.byteLength(text) > LIMITS.batchBytes) {
          expect(scanned.batches.some((batch) => batch.parsed !== undefined)).toBe(false);
        }
        expect(shown(parsed)).toEqual(shown(scanned));
      }),
    );
  });

  it('reads a body larger than an item whole only when no item can be over the limit', async () => {
    const small = Array.from({ length: 20 }, (_, i) => ({ i, text: 'x'.repeat(20) }));
    const body = await readText(JSON.stringify(small));
    expect(Buffer.byteLength(JSON.stringify(small))).toBeGreaterThan(LIMITS.maxItemBytes);
    expect(body.batches.every((batch) => batch.parsed !== undefined)).toBe(true);
    expect(body.batches.flatMap((batch) => parseBatch(body.body, batch))).toEqual(small);
    // Handed out, not kept: the reader holds no parsed items once the caller has them.
    expect(body.batches.every((batch) => batch.parsed === null)).toBe(true);
    expect(() => parseBatch(body.body, body.batches[0] as ItemBatch)).toThrow('handed out');

    // Whitespace inside an item counts towards its size, though JSON.parse drops it.
    for (const text of [
      JSON.stringify([{ a: 1 }, { big: 'x'.repeat(300) }]),
      `[{"a":${' '.repeat(300)}1}, 2]`,
      ` {"a":${' '.repeat(300)}1} `,
    ]) {
      const scanned = await readText(text);
      expect(
        scanned.batches.map((batch) => batch.oversize),
        text,
      ).toContain(true);
      expect(
        scanned.batches.some((batch) => batch.parsed !== undefined),
        text,
      ).toBe(false);
    }
  });

  it('refuses a small body with the scanner message, nesting limit and byte order mark included', async () => {
    for (const text of ['[1, 2, oops]', '', '  ', '[{"a": 1} {}]', '[1,]']) {
      const message = scan(text);
      await expect(readText(text), text).rejects.toThrow(JsonSyntaxError);
      await expect(readText(text), text).rejects.toThrow(message as string);
    }
    const whole = { ...LIMITS, maxItemBytes: 1024 * 1024, batchBytes: 1024 * 1024 };
    const deep = `${'['.repeat(MAX_NESTING + 1)}${']'.repeat(MAX_NESTING + 1)}`;
    await expect(readText(deep, whole)).rejects.toThrow(`deeper than ${MAX_NESTING} levels`);
    const allowed = `${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}`;
    expect((await readText(allowed, whole)).items).toBe(1);

    const marked = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('[{"a":1}]')]);
    const body = await readJsonBody(Readable.from([marked]), LIMITS);
    expect(body.batches.flatMap((batch) => parseBatch(body.body, batch))).toEqual([{ a: 1 }]);
  });

  it('keeps multi-byte characters whole across chunk boundaries', async () => {
    const items = [{ name: 'Zoë 🚀 Ünïcödé' }, { name: '日本語' }];
    const body = await readText(JSON.stringify(items), LIMITS, 17);
    expect(body.batches.flatMap((batch) => parseBatch(body.body, batch))).toEqual(items);
  });
});
