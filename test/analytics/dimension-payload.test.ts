import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  METRIC_MODELS,
  dayNumber,
  normalizeMetric,
} from '../../src/analytics/dimension-payload.js';
import type { MetricResult, NormalizedMetric } from '../../src/analytics/dimension-payload.js';
import { MAX_FIELD_LENGTH } from '../../src/analytics/payload-limits.js';

const receivedAt = new Date('2024-01-10T12:00:00.000Z');

const OBJECT_ID = '61006bc89a3e0b702ed8ea49';

function accepted(raw: unknown): NormalizedMetric {
  const result = normalizeMetric(raw, receivedAt);
  if (!result.ok) throw new Error(`expected the metric to be accepted, got: ${result.error}`);

  return result.metric;
}

function rejected(raw: unknown): string {
  const result = normalizeMetric(raw, receivedAt);
  if (result.ok) throw new Error('expected the metric to be rejected');

  return result.error;
}

const base = { dimensionId: 'activeusershare', value: 0.42 };

describe('normalizeMetric', () => {
  it('keeps a documented item', () => {
    const metric = accepted({ ...base, externalId: 'acme', model: 'Company', date: '2024-01-10' });

    expect(metric).toStrictEqual({
      dimensionId: 'activeusershare',
      value: 0.42,
      externalId: 'acme',
      model: 'Company',
      date: '2024-01-10T00:00:00.000Z',
      day: 19732,
    });
  });

  it('defaults the model to Company and the date to the time of receipt', () => {
    expect(accepted({ ...base, externalId: 'acme' })).toStrictEqual({
      ...base,
      externalId: 'acme',
      model: 'Company',
      date: '2024-01-10T12:00:00.000Z',
      day: 19732,
    });
  });

  it('accepts dimension ids with spaces, as real clients send them', () => {
    const metric = accepted({
      ...base,
      dimensionId: ' Cumulative Billable CPUs ',
      externalId: 'a',
    });

    expect(metric.dimensionId).toBe('Cumulative Billable CPUs');
  });

  it('ignores fields it does not know', () => {
    expect(accepted({ ...base, externalId: 'a', unit: '%' })).not.toHaveProperty('unit');
  });

  describe('required fields', () => {
    it('rejects a missing dimensionId with the message Planhat uses', () => {
      const item = { value: 1, externalId: 'my_id', model: 'Company' };

      expect(rejected(item)).toBe('dimensionId must be specified');
      expect(rejected({ ...item, dimensionId: '  ' })).toBe('dimensionId must be specified');
    });

    it('rejects a dimensionId that is not a string or is too long', () => {
      expect(rejected({ ...base, dimensionId: 7, externalId: 'a' })).toBe(
        'dimensionId must be a string',
      );
      expect(
        rejected({ ...base, dimensionId: 'd'.repeat(MAX_FIELD_LENGTH + 1), externalId: 'a' }),
      ).toBe(`dimensionId must be at most ${MAX_FIELD_LENGTH} characters`);
    });

    it('requires a value', () => {
      expect(rejected({ dimensionId: 'd', externalId: 'a' })).toBe('value must be specified');
      expect(rejected({ dimensionId: 'd', externalId: 'a', value: null })).toBe(
        'value must be specified',
      );
    });

    it('accepts zero and negative values', () => {
      expect(accepted({ dimensionId: 'd', externalId: 'a', value: 0 }).value).toBe(0);
      expect(accepted({ dimensionId: 'd', externalId: 'a', value: -3.5 }).value).toBe(-3.5);
    });

    it('rejects values that are not finite numbers', () => {
      for (const value of ['1', true, {}, [], Number.NaN, Number.NEGATIVE_INFINITY]) {
        expect(rejected({ dimensionId: 'd', externalId: 'a', value })).toBe(
          'value must be a number',
        );
      }
    });

    it('requires externalId or id', () => {
      expect(rejected(base)).toBe('externalId or id must be specified');
      expect(rejected({ ...base, externalId: '', id: null })).toBe(
        'externalId or id must be specified',
      );
    });

    it('rejects anything but an object', () => {
      for (const raw of [null, undefined, 'x', 1, [], [{ ...base, externalId: 'a' }]]) {
        expect(rejected(raw)).toBe('metric must be an object');
      }
    });
  });

  describe('object keys', () => {
    it('takes a Planhat id instead of an externalId, lower-casing it', () => {
      const metric = accepted({ ...base, id: OBJECT_ID.toUpperCase() });

      expect(metric.id).toBe(OBJECT_ID);
      expect(metric).not.toHaveProperty('externalId');
    });

    it('keeps both keys when both are sent', () => {
      expect(accepted({ ...base, id: OBJECT_ID, externalId: 'acme' })).toMatchObject({
        id: OBJECT_ID,
        externalId: 'acme',
      });
    });

    it.each(['acme', '61006bc89a3e0b702ed8ea4', `${OBJECT_ID}0`, 'g1006bc89a3e0b702ed8ea49'])(
      'rejects %j as an id',
      (id) => {
        expect(rejected({ ...base, id })).toBe('id must be a 24-character hexadecimal ObjectId');
      },
    );

    it('takes integer externalIds as strings', () => {
      expect(accepted({ ...base, externalId: 42 }).externalId).toBe('42');
    });

    it.each([
      ['companyExternalId', 'Company'],
      ['assetExtId', 'Asset'],
    ])('maps the legacy %s onto externalId with model %s', (key, model) => {
      const metric = accepted({ ...base, [key]: 'legacy-1' });

      expect(metric).toMatchObject({ externalId: 'legacy-1', model });
      expect(metric).not.toHaveProperty(key);
    });

    it('accepts a legacy key alongside the model it implies', () => {
      expect(accepted({ ...base, assetExtId: 'a', model: 'asset' }).model).toBe('Asset');
    });

    it('rejects a legacy key that contradicts the model', () => {
      expect(rejected({ ...base, assetExtId: 'a', model: 'Company' })).toBe(
        'assetExtId cannot be used with model Company',
      );
      expect(rejected({ ...base, companyExternalId: 'a', model: 'Project' })).toBe(
        'companyExternalId cannot be used with model Project',
      );
    });

    it('prefers externalId over the legacy keys', () => {
      const metric = accepted({ ...base, externalId: 'new', assetExtId: 'old', model: 'EndUser' });

      expect(metric).toMatchObject({ externalId: 'new', model: 'EndUser' });
    });
  });

  describe('model', () => {
    it.each(METRIC_MODELS)('accepts %s in any casing', (model) => {
      expect(accepted({ ...base, externalId: 'a', model }).model).toBe(model);
      expect(accepted({ ...base, externalId: 'a', model: model.toLowerCase() }).model).toBe(model);
      expect(accepted({ ...base, externalId: 'a', model: model.toUpperCase() }).model).toBe(model);
    });

    it('rejects models the endpoint does not support', () => {
      for (const model of ['Opportunity', 'License', 'companies']) {
        expect(rejected({ ...base, externalId: 'a', model })).toBe(
          'model must be one of Company, EndUser, Asset, Project',
        );
      }
    });

    it('rejects a model that is not a string', () => {
      expect(rejected({ ...base, externalId: 'a', model: 1 })).toBe('model must be a string');
    });
  });

  describe('date', () => {
    it.each([
      ['2024-02-29', '2024-02-29T00:00:00.000Z', 19782],
      ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z', 19782],
      ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00.000Z', 19782],
      [1709164800, '2024-02-29T00:00:00.000Z', 19782],
      [1709164800000, '2024-02-29T00:00:00.000Z', 19782],
      ['1970-01-01', '1970-01-01T00:00:00.000Z', 0],
    ])('reads %j', (date, iso, day) => {
      expect(accepted({ ...base, externalId: 'a', date })).toMatchObject({ date: iso, day });
    });

    it('rejects invalid dates', () => {
      expect(rejected({ ...base, externalId: 'a', date: '2024-02-30' })).toBe(
        'date must be a valid date string',
      );
      expect(rejected({ ...base, externalId: 'a', date: false })).toBe(
        'date must be a date string or a Unix timestamp',
      );
      expect(rejected({ ...base, externalId: 'a', date: -86_400_000 })).toBe(
        'date must be between 1970-01-01 and 9999-12-31',
      );
    });
  });

  it('turns a throwing getter into an error instead of throwing', () => {
    const hostile = {
      get dimensionId(): string {
        throw new Error('boom');
      },
    };

    expect(normalizeMetric(hostile, receivedAt)).toStrictEqual({
      ok: false,
      error: 'item could not be read',
    });
  });
});

describe('dayNumber', () => {
  it.each([
    ['1970-01-01T00:00:00.000Z', 0],
    ['1970-01-01T23:59:59.999Z', 0],
    ['1970-01-02T00:00:00.000Z', 1],
    ['2024-02-29T00:00:00.000Z', 19782],
    ['2024-02-29T23:59:59.999Z', 19782],
    ['1969-12-31T23:59:59.999Z', -1],
  ])('puts %s on day %i', (iso, day) => {
    expect(dayNumber(new Date(iso))).toBe(day);
  });

  it('gives NaN for an invalid date', () => {
    expect(dayNumber(new Date(Number.NaN))).toBeNaN();
  });

  it('counts whole UTC days', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (date) => {
        const day = dayNumber(date);
        const start = Date.UTC(1970, 0, 1) + day * 86_400_000;

        expect(Number.isInteger(day)).toBe(true);
        expect(date.getTime()).toBeGreaterThanOrEqual(start);
        expect(date.getTime()).toBeLessThan(start + 86_400_000);
      }),
    );
  });
});

describe('normalizeMetric properties', () => {
  const metricLike = fc.record(
    {
      dimensionId: fc.oneof(fc.string(), fc.integer()),
      value: fc.oneof(fc.double(), fc.string()),
      externalId: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      companyExternalId: fc.string(),
      assetExtId: fc.string(),
      id: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{24}$/), fc.string()),
      model: fc.oneof(fc.constantFrom(...METRIC_MODELS, 'enduser', 'Deal'), fc.string()),
      date: fc.oneof(
        fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        fc.integer({ min: -1e13, max: 1e13 }),
        fc.string(),
      ),
    },
    { requiredKeys: [] },
  );

  function checkResult(result: MetricResult): void {
    if (!result.ok) {
      expect(typeof result.error).toBe('string');
      return;
    }

    const { metric } = result;
    expect(new Date(metric.date).toISOString()).toBe(metric.date);
    expect(metric.day).toBe(dayNumber(new Date(metric.date)));
    expect(Number.isFinite(metric.value)).toBe(true);
    expect(METRIC_MODELS).toContain(metric.model);
    expect(metric.externalId ?? metric.id).toBeDefined();
    expect(Object.values(metric)).not.toContain(undefined);
  }

  it('never throws for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (raw) => checkResult(normalizeMetric(raw, receivedAt))));
  });

  it('never throws for any JavaScript value', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withDate: true, withMap: true }), (raw) =>
        checkResult(normalizeMetric(raw, receivedAt)),
      ),
    );
  });

  it('returns well-formed metrics for metric-shaped input', () => {
    fc.assert(
      fc.property(metricLike, (raw) => checkResult(normalizeMetric(raw, receivedAt))),
      { numRuns: 500 },
    );
  });

  it('never pollutes Object.prototype', () => {
    const prototypeKeys = Object.getOwnPropertyNames(Object.prototype);

    fc.assert(
      fc.property(
        fc.constantFrom('__proto__', 'constructor', 'prototype'),
        fc.jsonValue(),
        (key, value) => {
          const body = `{"dimensionId":"d","value":1,"externalId":"a","${key}":${JSON.stringify(value)}}`;
          const result = normalizeMetric(JSON.parse(body), receivedAt);

          expect(result.ok).toBe(true);
          expect(Object.getOwnPropertyNames(Object.prototype)).toStrictEqual(prototypeKeys);
        },
      ),
    );
  });
});
