import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { normalizeActivity } from '../../src/analytics/activity-payload.js';
import type { ActivityResult, NormalizedActivity } from '../../src/analytics/activity-payload.js';
import {
  EPOCH_SECONDS_BELOW,
  MAX_FIELD_LENGTH,
  MAX_JSON_BYTES,
} from '../../src/analytics/payload-limits.js';

const receivedAt = new Date('2024-01-10T12:00:00.000Z');

const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function accepted(raw: unknown): NormalizedActivity {
  const result = normalizeActivity(raw, receivedAt);
  if (!result.ok) throw new Error(`expected the activity to be accepted, got: ${result.error}`);

  return result.activity;
}

function rejected(raw: unknown): string {
  const result = normalizeActivity(raw, receivedAt);
  if (result.ok) throw new Error('expected the activity to be rejected');

  return result.error;
}

function dateOf(date: unknown): string {
  return accepted({ externalId: 'u-1', date }).date;
}

describe('normalizeActivity', () => {
  it('fills in defaults and leaves absent optional fields out', () => {
    const activity = accepted({ email: 'ada@example.com' });

    expect(activity).toStrictEqual({
      email: 'ada@example.com',
      action: '',
      weight: 1,
      count: 1,
      date: '2024-01-10T12:00:00.000Z',
      info: null,
    });
  });

  it('keeps every canonical field of a single-event body', () => {
    const activity = accepted({
      email: 'ada@example.com',
      externalId: 'u-1',
      companyExternalId: 'acme',
      name: 'Ada Lovelace',
      firstName: 'Ada',
      lastName: 'Lovelace',
      action: 'Logged in',
      weight: 3,
      count: 2,
      date: '2016-10-13T08:00:00.000Z',
      info: { plan: 'pro', seats: 4 },
    });

    expect(activity).toStrictEqual({
      email: 'ada@example.com',
      externalId: 'u-1',
      companyExternalId: 'acme',
      name: 'Ada Lovelace',
      firstName: 'Ada',
      lastName: 'Lovelace',
      action: 'Logged in',
      weight: 3,
      count: 2,
      date: '2016-10-13T08:00:00.000Z',
      info: { plan: 'pro', seats: 4 },
    });
  });

  it('ignores fields it does not know', () => {
    expect(accepted({ externalId: 'u-1', colour: 'blue' })).not.toHaveProperty('colour');
  });

  describe('aliases', () => {
    it.each([
      ['id', 'externalId'],
      ['euExtId', 'externalId'],
      ['userId', 'externalId'],
      ['cId', 'companyExternalId'],
      ['companyId', 'companyExternalId'],
    ])('maps %s onto %s', (alias, canonical) => {
      const activity = accepted({ email: 'ada@example.com', [alias]: 'key-1' });

      expect(activity).toMatchObject({ [canonical]: 'key-1' });
      expect(activity).not.toHaveProperty(alias);
    });

    it('takes a legacy bulk item as is', () => {
      const activity = accepted({
        name: 'Ada',
        email: 'ada@example.com',
        id: 'u-1',
        cId: 'acme',
        weight: 2,
        date: '2017-05-01',
        action: 'Exported report',
        count: 5,
      });

      expect(activity).toMatchObject({
        externalId: 'u-1',
        companyExternalId: 'acme',
        count: 5,
        date: '2017-05-01T00:00:00.000Z',
      });
    });

    it('prefers the canonical key, then aliases in a fixed order', () => {
      expect(accepted({ externalId: 'a', id: 'b', userId: 'c' }).externalId).toBe('a');
      expect(accepted({ userId: 'c', euExtId: 'b', id: 'a' }).externalId).toBe('a');
      expect(accepted({ externalId: 'a', companyId: 'z', cId: 'y' }).companyExternalId).toBe('y');
    });

    it('falls through a blank canonical key to an alias', () => {
      expect(accepted({ externalId: '  ', id: 'u-2' }).externalId).toBe('u-2');
    });

    it('names the alias the client used when its value is bad', () => {
      expect(rejected({ email: 'ada@example.com', cId: true })).toBe('cId must be a string');
    });
  });

  describe('identity', () => {
    it.each([{}, { email: '' }, { externalId: '   ' }, { email: null, externalId: null }])(
      'rejects %j for lacking email and externalId',
      (raw) => {
        expect(rejected(raw)).toBe('email or externalId must be specified');
      },
    );

    it('accepts integer ids and stores them as strings', () => {
      expect(accepted({ externalId: 12345, cId: 7 })).toMatchObject({
        externalId: '12345',
        companyExternalId: '7',
      });
    });

    it('rejects ids that are neither strings nor safe integers', () => {
      for (const id of [1.5, Number.MAX_SAFE_INTEGER + 2, true, {}, []]) {
        expect(rejected({ externalId: id })).toBe('externalId must be a string');
      }
    });

    it.each(['ada', 'ada@', '@example.com', 'ada @example.com'])('rejects email %j', (email) => {
      expect(rejected({ email })).toBe('email must be an email address');
    });

    it('trims surrounding whitespace from text fields', () => {
      const activity = accepted({ email: ' ada@example.com ', action: ' Logged in\n' });

      expect(activity).toMatchObject({ email: 'ada@example.com', action: 'Logged in' });
    });

    it.each(['externalId', 'companyExternalId', 'name', 'firstName', 'lastName', 'action'])(
      'caps %s at the field length limit',
      (field) => {
        const longest = 'x'.repeat(MAX_FIELD_LENGTH);

        expect(accepted({ email: 'a@b.co', [field]: longest })).toMatchObject({ [field]: longest });
        expect(rejected({ email: 'a@b.co', [field]: `${longest}x` })).toBe(
          `${field} must be at most ${MAX_FIELD_LENGTH} characters`,
        );
      },
    );
  });

  it('rejects anything but an object as an activity', () => {
    for (const raw of [null, undefined, 'text', 42, true, [], [{ email: 'a@b.co' }]]) {
      expect(rejected(raw)).toBe('activity must be an object');
    }
  });

  describe('weight and count', () => {
    it.each(['weight', 'count'])('accepts zero and fractions for %s', (field) => {
      expect(accepted({ externalId: 'u', [field]: 0 })).toMatchObject({ [field]: 0 });
      expect(accepted({ externalId: 'u', [field]: 2.5 })).toMatchObject({ [field]: 2.5 });
    });

    it.each(['weight', 'count'])('defaults a null %s to 1', (field) => {
      expect(accepted({ externalId: 'u', [field]: null })).toMatchObject({ [field]: 1 });
    });

    it.each(['weight', 'count'])('rejects a non-number %s', (field) => {
      for (const bad of ['2', true, {}, [], Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(rejected({ externalId: 'u', [field]: bad })).toBe(`${field} must be a number`);
      }
    });

    it.each(['weight', 'count'])('rejects a negative %s', (field) => {
      expect(rejected({ externalId: 'u', [field]: -1 })).toBe(`${field} must not be negative`);
    });
  });

  describe('date', () => {
    it.each([
      ['2024-01-10T09:30:00.000Z', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10T09:30:00Z', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10t09:30z', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10T09:30:00.1234567Z', '2024-01-10T09:30:00.123Z'],
      ['2024-01-10T09:30:00,5Z', '2024-01-10T09:30:00.500Z'],
      ['2024-01-10T11:30:00+02:00', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10T11:30:00+0200', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10T07:30:00-02', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10T09:30:00', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10 09:30:00', '2024-01-10T09:30:00.000Z'],
      ['2024-01-10', '2024-01-10T00:00:00.000Z'],
      ['2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['2000-02-29T23:59:59.999Z', '2000-02-29T23:59:59.999Z'],
      ['1970-01-01T00:00:00.000Z', '1970-01-01T00:00:00.000Z'],
      ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
      ['Wed, 10 Jan 2024 09:30:00 GMT', '2024-01-10T09:30:00.000Z'],
      [
        'Wed Jan 10 2024 10:30:00 GMT+0100 (Central European Standard Time)',
        '2024-01-10T09:30:00.000Z',
      ],
      ['Jan 10 2024 04:30:00 GMT-0500', '2024-01-10T09:30:00.000Z'],
      [1704879000, '2024-01-10T09:30:00.000Z'],
      [1704879000.25, '2024-01-10T09:30:00.250Z'],
      [1704879000000, '2024-01-10T09:30:00.000Z'],
      [0, '1970-01-01T00:00:00.000Z'],
      [new Date('2024-01-10T09:30:00.000Z'), '2024-01-10T09:30:00.000Z'],
    ])('reads %j', (input, expected) => {
      expect(dateOf(input)).toBe(expected);
    });

    it.each([null, '', '   '])('uses the time of receipt for %j', (input) => {
      expect(dateOf(input)).toBe(receivedAt.toISOString());
    });

    it.each([
      '2024-02-30',
      '2023-02-29',
      // The canonical form has its own fast path; it must refuse the same days.
      '2024-02-30T00:00:00.000Z',
      '2023-02-29T12:00:00.000Z',
      '2100-02-29T12:00:00.000Z',
      '2024-04-31T12:00:00.000Z',
      '2024-00-10T12:00:00.000Z',
      '2024-01-00T12:00:00.000Z',
      '2024-01-10T24:00:00.000Z',
      '2024-01-10T23:60:00.000Z',
      '2024-01-10T23:59:60.000Z',
      '2024-01-10T23:59:59.00xZ',
      '2024-13-01',
      '2024-01-10T24:00:00Z',
      '2024-01-10T23:59:60Z',
      '2024-01-10T09:30:00+24:00',
      '2024-1-10',
      'yesterday',
      'January 10, 2024',
      'Wed Jan 10 2024 10:30:00',
      'Wed, 10 Foo 2024 09:30:00 GMT',
      '1704879000000',
      `2024-01-10T09:30:00.${'0'.repeat(200)}Z`,
    ])('rejects %j', (input) => {
      expect(rejected({ externalId: 'u', date: input })).toBe('date must be a valid date string');
    });

    it.each([-1, 253402300800000, '1969-12-31T23:59:59.999Z', '1970-01-01T00:30:00+01:00'])(
      'rejects %j as out of range',
      (input) => {
        expect(rejected({ externalId: 'u', date: input })).toBe(
          'date must be between 1970-01-01 and 9999-12-31',
        );
      },
    );

    it('rejects dates of the wrong type', () => {
      for (const date of [true, {}, [], Number.NaN]) {
        expect(rejected({ externalId: 'u', date })).toBe(
          'date must be a date string or a Unix timestamp',
        );
      }
    });

    it('rejects an invalid Date object', () => {
      expect(rejected({ externalId: 'u', date: new Date(Number.NaN) })).toBe(
        'date must be a valid date',
      );
    });

    it('reports a broken receipt time instead of throwing', () => {
      const result = normalizeActivity({ externalId: 'u' }, new Date(Number.NaN));

      expect(result).toStrictEqual({ ok: false, error: 'receivedAt must be a valid date' });
    });
  });

  describe('info', () => {
    it('keeps nested JSON', () => {
      const info = { plan: 'pro', tags: ['a', 1, true, null], nested: { deeper: { x: -0.5 } } };

      expect(accepted({ externalId: 'u', info }).info).toStrictEqual(info);
    });

    it('copies rather than aliases the input', () => {
      const info = { nested: { x: 1 } };
      const activity = accepted({ externalId: 'u', info });
      info.nested.x = 2;

      expect(activity.info).toStrictEqual({ nested: { x: 1 } });
    });

    it('rejects anything but an object', () => {
      for (const info of ['text', 3, true, [], [1, 2]]) {
        expect(rejected({ externalId: 'u', info })).toBe('info must be an object');
      }
    });

    it('drops keys that could reach a prototype, at any depth', () => {
      const info: unknown = JSON.parse(
        '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},' +
          '"prototype":1,"list":[{"__proto__":{"polluted":1},"ok":1}],"safe":{"constructor":2,"y":3}}',
      );

      const copy = accepted({ externalId: 'u', info }).info;

      expect(copy).toStrictEqual({ list: [{ ok: 1 }], safe: { y: 3 } });
      expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('accepts ten levels of nesting and rejects eleven', () => {
      const nest = (levels: number): unknown => (levels === 1 ? {} : { next: nest(levels - 1) });

      expect(accepted({ externalId: 'u', info: nest(10) }).info).toStrictEqual(nest(10));
      expect(rejected({ externalId: 'u', info: nest(11) })).toBe(
        'info must be nested at most 10 levels',
      );
      expect(rejected({ externalId: 'u', info: { list: [[[[[[[[[[1]]]]]]]]]] } })).toBe(
        'info must be nested at most 10 levels',
      );
    });

    it('caps the serialised size, counting UTF-8 bytes', () => {
      const fits = { text: 'x'.repeat(MAX_JSON_BYTES - '{"text":""}'.length) };
      const tooLong = { text: 'x'.repeat(MAX_JSON_BYTES) };
      // Under the cap in UTF-16 code units, over it in UTF-8 bytes.
      const tooWide = { text: 'é'.repeat(MAX_JSON_BYTES / 2) };
      const sizeError = `info must be at most ${MAX_JSON_BYTES} bytes as JSON`;

      expect(JSON.stringify(fits)).toHaveLength(MAX_JSON_BYTES);
      expect(accepted({ externalId: 'u', info: fits }).info).toStrictEqual(fits);
      expect(rejected({ externalId: 'u', info: tooLong })).toBe(sizeError);
      expect(rejected({ externalId: 'u', info: tooWide })).toBe(sizeError);
    });

    it('gives up early on a huge array', () => {
      const started = Date.now();

      expect(rejected({ externalId: 'u', info: { list: new Array(5_000_000).fill(0) } })).toBe(
        `info must be at most ${MAX_JSON_BYTES} bytes as JSON`,
      );
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it.each([
      { when: new Date(0) },
      { big: 1n },
      { missing: undefined },
      { fn: () => 1 },
      { holes: new Array(2) },
      { map: new Map() },
      { nan: Number.NaN },
    ])('rejects non-JSON values such as %o', (info) => {
      expect(rejected({ externalId: 'u', info })).toBe('info must contain only JSON values');
    });
  });

  it('turns a throwing getter into an error instead of throwing', () => {
    const hostile = {
      get email(): string {
        throw new Error('boom');
      },
    };

    expect(normalizeActivity(hostile, receivedAt)).toStrictEqual({
      ok: false,
      error: 'item could not be read',
    });
  });
});

describe('normalizeActivity properties', () => {
  const identifier = fc.oneof(fc.string(), fc.integer(), fc.constant(null));
  const dateInput = fc.oneof(
    fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
    fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
    fc.integer({ min: -1e13, max: 1e13 }),
    fc.double(),
    fc.string(),
  );
  const activityLike = fc.record(
    {
      email: fc.oneof(fc.emailAddress(), fc.string()),
      externalId: identifier,
      id: identifier,
      euExtId: identifier,
      userId: identifier,
      companyExternalId: identifier,
      cId: identifier,
      companyId: identifier,
      name: fc.string(),
      action: fc.string(),
      weight: fc.oneof(fc.double(), fc.string()),
      count: fc.oneof(fc.double(), fc.integer()),
      date: dateInput,
      info: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    },
    { requiredKeys: [] },
  );

  function checkResult(result: ActivityResult): void {
    if (!result.ok) {
      expect(typeof result.error).toBe('string');
      return;
    }

    const { activity } = result;
    expect(activity.date).toMatch(ISO_UTC_MS);
    expect(new Date(activity.date).toISOString()).toBe(activity.date);
    expect(activity.email ?? activity.externalId).toBeDefined();
    expect(Number.isFinite(activity.weight) && activity.weight >= 0).toBe(true);
    expect(Number.isFinite(activity.count) && activity.count >= 0).toBe(true);
    expect(Object.values(activity)).not.toContain(undefined);
  }

  it('never throws for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (raw) => checkResult(normalizeActivity(raw, receivedAt))),
    );
  });

  it('never throws for any JavaScript value', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true }), (raw) =>
        checkResult(normalizeActivity(raw, receivedAt)),
      ),
    );
  });

  it('returns well-formed activities for activity-shaped input', () => {
    fc.assert(
      fc.property(activityLike, (raw) => checkResult(normalizeActivity(raw, receivedAt))),
      { numRuns: 500 },
    );
  });

  it('reads back any in-range instant it printed', () => {
    const inRange = fc.date({
      min: new Date('1970-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    });

    fc.assert(
      fc.property(inRange, (date) => {
        const iso = date.toISOString();
        const seconds = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();

        const ms = date.getTime();

        expect(dateOf(iso)).toBe(iso);
        if (ms >= EPOCH_SECONDS_BELOW) expect(dateOf(ms)).toBe(iso);
        if (ms / 1000 < EPOCH_SECONDS_BELOW) expect(dateOf(ms / 1000)).toBe(iso);
        expect(dateOf(date.toUTCString())).toBe(seconds);
        expect(dateOf(date.toString())).toBe(seconds);
      }),
    );
  });

  it('never pollutes Object.prototype, whatever the keys', () => {
    const dangerous = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const key = fc.oneof(dangerous, fc.string());
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue(),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);

    fc.assert(
      fc.property(fc.dictionary(key, tree), dangerous, tree, (info, danger, payload) => {
        // Round-trip through JSON.parse, which makes "__proto__" an ordinary
        // own key, as an HTTP body would.
        const body = `{"email":"a@b.co","${danger}":${JSON.stringify(payload)},"info":${JSON.stringify(info)}}`;
        const result = normalizeActivity(JSON.parse(body), receivedAt);

        expect(Object.getOwnPropertyNames(Object.prototype)).toStrictEqual(prototypeKeys);
        if (result.ok && result.activity.info !== null) {
          expect(JSON.stringify(result.activity.info)).not.toMatch(
            /"(__proto__|constructor|prototype)":/,
          );
        }
      }),
    );
  });
});
