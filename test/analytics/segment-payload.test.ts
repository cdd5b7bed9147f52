import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { NormalizedActivity } from '../../src/analytics/activity-payload.js';
import { MAX_JSON_BYTES } from '../../src/analytics/payload-limits.js';
import { mapSegmentEvent } from '../../src/analytics/segment-payload.js';
import type { SegmentEndUser, SegmentResult } from '../../src/analytics/segment-payload.js';

const receivedAt = new Date('2024-01-10T12:00:00.000Z');

function identified(raw: unknown): SegmentEndUser {
  const result = mapSegmentEvent(raw, receivedAt);
  if (!result.ok || result.kind !== 'identify') {
    throw new Error(`expected an end user, got: ${JSON.stringify(result)}`);
  }

  return result.endUser;
}

function tracked(raw: unknown): NormalizedActivity {
  const result = mapSegmentEvent(raw, receivedAt);
  if (!result.ok || result.kind !== 'activity') {
    throw new Error(`expected an activity, got: ${JSON.stringify(result)}`);
  }

  return result.activity;
}

function rejected(raw: unknown): string {
  const result = mapSegmentEvent(raw, receivedAt);
  if (result.ok) throw new Error('expected the event to be rejected');

  return result.error;
}

describe('mapSegmentEvent identify', () => {
  it('maps the legacy identify example', () => {
    const endUser = identified({
      type: 'identify',
      user_id: '12345',
      traits: { name: 'Ada Lovelace', email: 'ada@example.com', companyId: 'ABCDE' },
    });

    expect(endUser).toStrictEqual({
      externalId: '12345',
      email: 'ada@example.com',
      companyExternalId: 'ABCDE',
      name: 'Ada Lovelace',
      date: receivedAt.toISOString(),
      traits: { name: 'Ada Lovelace', email: 'ada@example.com', companyId: 'ABCDE' },
    });
  });

  it('maps a modern identify call', () => {
    const endUser = identified({
      type: 'identify',
      userId: 97980,
      anonymousId: '507f191e810c19729de860ea',
      timestamp: '2024-01-05T09:00:00.000Z',
      traits: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', plan: 'pro' },
    });

    expect(endUser).toStrictEqual({
      externalId: '97980',
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      date: '2024-01-05T09:00:00.000Z',
      traits: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', plan: 'pro' },
    });
  });

  it('falls back to traits.id when there is no user id', () => {
    expect(identified({ type: 'identify', traits: { id: 'u-7' } }).externalId).toBe('u-7');
  });

  it('prefers the event user id over traits.id', () => {
    const endUser = identified({
      type: 'identify',
      userId: 'a',
      user_id: 'b',
      traits: { id: 'c' },
    });

    expect(endUser.externalId).toBe('a');
    expect(identified({ type: 'identify', user_id: 'b', traits: { id: 'c' } }).externalId).toBe(
      'b',
    );
  });

  it('is identified by email alone', () => {
    const endUser = identified({ type: 'identify', traits: { email: 'ada@example.com' } });

    expect(endUser).toMatchObject({ email: 'ada@example.com' });
    expect(endUser).not.toHaveProperty('externalId');
  });

  it('reads the company from companyId, then from the company trait object', () => {
    const both = { companyId: 'by-id', company: { id: 'by-object', name: 'Acme' } };

    expect(identified({ type: 'identify', userId: 'u', traits: both }).companyExternalId).toBe(
      'by-id',
    );
    expect(
      identified({ type: 'identify', userId: 'u', traits: { company: { id: 'by-object' } } })
        .companyExternalId,
    ).toBe('by-object');
  });

  it('does not take a company name for a company id', () => {
    const endUser = identified({ type: 'identify', userId: 'u', traits: { company: 'Acme' } });

    expect(endUser).not.toHaveProperty('companyExternalId');
  });

  it('reads traits from context when there are none at the top level', () => {
    const endUser = identified({
      type: 'identify',
      userId: 'u',
      context: { traits: { email: 'ada@example.com' } },
    });

    expect(endUser).toMatchObject({
      email: 'ada@example.com',
      traits: { email: 'ada@example.com' },
    });
  });

  it('leaves traits null when there are none', () => {
    expect(identified({ type: 'identify', userId: 'u' }).traits).toBeNull();
  });

  it('drops unsafe trait keys', () => {
    const raw: unknown = JSON.parse(
      '{"type":"identify","userId":"u","traits":{"__proto__":{"polluted":1},"plan":"pro"}}',
    );

    expect(identified(raw).traits).toStrictEqual({ plan: 'pro' });
  });

  it('names the trait when it is bad', () => {
    expect(rejected({ type: 'identify', userId: 'u', traits: { email: 'nope' } })).toBe(
      'traits.email must be an email address',
    );
    expect(rejected({ type: 'identify', userId: 'u', context: { traits: { name: 3 } } })).toBe(
      'context.traits.name must be a string',
    );
    expect(rejected({ type: 'identify', userId: 'u', traits: { company: { id: true } } })).toBe(
      'traits.company.id must be a string',
    );
    expect(rejected({ type: 'identify', userId: 'u', traits: 'x' })).toBe(
      'traits must be an object',
    );
    expect(rejected({ type: 'identify', userId: 'u', context: { traits: [] } })).toBe(
      'context.traits must be an object',
    );
  });

  it('caps the size of the traits', () => {
    const traits = { blob: 'x'.repeat(MAX_JSON_BYTES) };

    expect(rejected({ type: 'identify', userId: 'u', traits })).toBe(
      `traits must be at most ${MAX_JSON_BYTES} bytes as JSON`,
    );
  });
});

describe('mapSegmentEvent track', () => {
  it('maps the legacy track example', () => {
    const activity = tracked({
      type: 'track',
      user_id: '12345',
      event: 'Signed up',
      properties: { plan: 'pro' },
    });

    expect(activity).toStrictEqual({
      externalId: '12345',
      action: 'Signed up',
      weight: 1,
      count: 1,
      date: receivedAt.toISOString(),
      info: { plan: 'pro' },
    });
  });

  it('maps a modern track call with traits under context', () => {
    const activity = tracked({
      type: 'track',
      userId: 'u-1',
      event: 'Report Exported',
      timestamp: '2024-01-05T09:00:00.000+01:00',
      properties: { format: 'csv', rows: 120 },
      context: {
        ip: '8.8.8.8',
        traits: { email: 'ada@example.com', name: 'Ada', company: { id: 'acme' } },
      },
    });

    expect(activity).toStrictEqual({
      externalId: 'u-1',
      email: 'ada@example.com',
      companyExternalId: 'acme',
      name: 'Ada',
      action: 'Report Exported',
      weight: 1,
      count: 1,
      date: '2024-01-05T08:00:00.000Z',
      info: { format: 'csv', rows: 120 },
    });
  });

  it('prefers top-level traits over context traits', () => {
    const activity = tracked({
      type: 'track',
      event: 'x',
      traits: { email: 'top@example.com' },
      context: { traits: { email: 'context@example.com', companyId: 'acme' } },
    });

    expect(activity).toMatchObject({ email: 'top@example.com', companyExternalId: 'acme' });
  });

  it('leaves action empty and info null when the event has neither', () => {
    expect(tracked({ type: 'track', userId: 'u' })).toMatchObject({ action: '', info: null });
  });

  it('names the Segment field when it is bad', () => {
    expect(rejected({ type: 'track', userId: 'u', event: 5 })).toBe('event must be a string');
    expect(rejected({ type: 'track', userId: 'u', properties: [1] })).toBe(
      'properties must be an object',
    );
    expect(rejected({ type: 'track', userId: 'u', timestamp: 'soon' })).toBe(
      'timestamp must be a valid date string',
    );
    expect(rejected({ type: 'track', userId: {} })).toBe('userId must be a string');
  });
});

describe('mapSegmentEvent rejections', () => {
  it.each(['page', 'screen', 'group', 'alias', 'batch'])('rejects %s events', (type) => {
    expect(rejected({ type, userId: 'u' })).toBe('type must be identify or track');
  });

  it('accepts the type in any casing', () => {
    expect(mapSegmentEvent({ type: 'Track', userId: 'u' }, receivedAt)).toMatchObject({
      ok: true,
      kind: 'activity',
    });
  });

  it('requires a type', () => {
    expect(rejected({ userId: 'u', event: 'x' })).toBe('type must be specified');
    expect(rejected({ type: 3, userId: 'u' })).toBe('type must be a string');
  });

  it('rejects events with neither a user id nor an email', () => {
    const error = 'Segment event needs userId, traits.id or traits.email';

    expect(rejected({ type: 'track', event: 'x', anonymousId: 'anon' })).toBe(error);
    expect(rejected({ type: 'identify', userId: '', traits: { name: 'Ada' } })).toBe(error);
  });

  it('rejects anything but an object', () => {
    for (const raw of [null, undefined, 'track', 1, [], [{ type: 'track', userId: 'u' }]]) {
      expect(rejected(raw)).toBe('Segment event must be an object');
    }
  });
});

describe('mapSegmentEvent properties', () => {
  const identifier = fc.oneof(fc.string(), fc.integer(), fc.constant(null));
  const traits = fc.record(
    {
      id: identifier,
      email: fc.oneof(fc.emailAddress(), fc.string()),
      companyId: identifier,
      company: fc.oneof(fc.record({ id: identifier }), fc.string()),
      name: fc.string(),
      plan: fc.jsonValue(),
    },
    { requiredKeys: [] },
  );
  const segmentLike = fc.record(
    {
      type: fc.constantFrom('identify', 'track', 'page', 'group', 'Track'),
      userId: identifier,
      user_id: identifier,
      event: fc.string(),
      traits: fc.oneof(traits, fc.jsonValue()),
      context: fc.record({ traits: fc.oneof(traits, fc.jsonValue()) }, { requiredKeys: [] }),
      properties: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
      timestamp: fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        fc.string(),
      ),
    },
    { requiredKeys: [] },
  );

  function checkResult(result: SegmentResult): void {
    if (!result.ok) {
      expect(typeof result.error).toBe('string');
      return;
    }

    const item = result.kind === 'activity' ? result.activity : result.endUser;
    expect(new Date(item.date).toISOString()).toBe(item.date);
    expect(item.email ?? item.externalId).toBeDefined();
    expect(Object.values(item)).not.toContain(undefined);
  }

  it('never throws for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (raw) => checkResult(mapSegmentEvent(raw, receivedAt))));
  });

  it('never throws for any JavaScript value', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true }), (raw) =>
        checkResult(mapSegmentEvent(raw, receivedAt)),
      ),
    );
  });

  it('returns well-formed results for Segment-shaped input', () => {
    fc.assert(
      fc.property(segmentLike, (raw) => checkResult(mapSegmentEvent(raw, receivedAt))),
      { numRuns: 500 },
    );
  });

  it('never pollutes Object.prototype', () => {
    const dangerous = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);

    fc.assert(
      fc.property(
        dangerous,
        fc.jsonValue(),
        fc.constantFrom('traits', 'properties'),
        (key, value, field) => {
          const nested = `{"${key}":${JSON.stringify(value)},"ok":1}`;
          const body = `{"type":"track","userId":"u","${key}":1,"${field}":${nested}}`;
          const result = mapSegmentEvent(JSON.parse(body), receivedAt);

          expect(Object.getOwnPropertyNames(Object.prototype)).toStrictEqual(prototypeKeys);
          expect(result).toMatchObject({ ok: true, kind: 'activity' });
        },
      ),
    );
  });
});
