import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { MODEL_DEFINITIONS, getModel } from '../../src/records/model-catalogue.js';
import {
  MAX_DEPTH,
  applySelect,
  mergeUpdate,
  newObjectId,
  parseListQuery,
  parseRecordKey,
  validateCreate,
  validateUpdate,
  type CustomFieldDefinition,
  type JsonObject,
  type ValidationResult,
} from '../../src/records/record-validation.js';

const company = getModel('Company');
const endUser = getModel('EndUser');
const COMPANY_ID = '5e298986569b369503683cf6';

function valueOf(result: ValidationResult): JsonObject {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.errors)}`);
  return result.value;
}

function errorsOf(result: ValidationResult): { field: string; code: string; message: string }[] {
  if (result.ok) throw new Error('expected a validation failure');
  return [...result.errors];
}

function nested(depth: number): JsonObject {
  let value: JsonObject = { leaf: true };
  for (let level = 1; level < depth; level++) value = { next: value };
  return value;
}

/** Every own key at any depth, to prove no prototype-reaching key survived. */
function allKeys(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.keys(value).flatMap((key) => [
    key,
    ...allKeys((value as Record<string, unknown>)[key]),
  ]);
}

describe('validateCreate', () => {
  it('accepts a company and fills its defaults', () => {
    const result = validateCreate(company, { name: 'Acme', externalId: 'acme' });
    expect(result).toEqual({
      ok: true,
      value: {
        name: 'Acme',
        externalId: 'acme',
        status: 'prospect',
        domains: [],
        tags: [],
        custom: {},
      },
      ignoredFields: [],
    });
  });

  it('drops unknown and computed fields and reports them', () => {
    const result = validateCreate(company, {
      name: 'Acme',
      _id: COMPANY_ID,
      createdAt: '2024-01-01',
      __v: 3,
      mrr: 100,
      favouriteColour: 'blue',
    });
    const value = valueOf(result);
    expect(Object.keys(value)).not.toContain('_id');
    expect(value).not.toHaveProperty('mrr');
    expect(result.ok && result.ignoredFields).toEqual([
      '_id',
      'createdAt',
      '__v',
      'mrr',
      'favouriteColour',
    ]);
  });

  it('requires the required fields', () => {
    expect(errorsOf(validateCreate(company, {}))).toEqual([
      { field: 'name', code: 'required', message: 'name is required' },
    ]);
    expect(errorsOf(validateCreate(company, { name: '  ' }))[0]?.code).toBe('required');
    expect(errorsOf(validateCreate(company, { name: null }))[0]?.code).toBe('required');
  });

  it('requires one of mrr or value on a license', () => {
    const license = getModel('License');
    const body = { _currency: 'EUR', companyId: COMPANY_ID, fromDate: '2024-01-01' };
    expect(errorsOf(validateCreate(license, body))).toEqual([
      { field: 'mrr', code: 'required', message: 'one of mrr, value is required' },
    ]);
    expect(validateCreate(license, { ...body, value: 1200 }).ok).toBe(true);
  });

  it('names the field of a wrong type', () => {
    const errors = errorsOf(validateCreate(endUser, { email: 'a@b.co', companyId: 5 }));
    expect(errors).toEqual([
      { field: 'companyId', code: 'invalid_type', message: 'companyId must be a string' },
    ]);
    const tags = errorsOf(validateCreate(company, { name: 'A', tags: ['x', 2] }));
    expect(tags[0]).toMatchObject({ field: 'tags[1]', code: 'invalid_type' });
    const flag = errorsOf(validateCreate(company, { name: 'A', autoRenews: 'yes' }));
    expect(flag[0]?.message).toBe('autoRenews must be a boolean');
  });

  it('reports every error, not just the first', () => {
    const errors = errorsOf(validateCreate(company, { owner: 'nope', csmScore: '5' }));
    expect(errors.map((error) => error.field)).toEqual(['owner', 'csmScore', 'name']);
  });

  it('accepts references by id, externalId and sourceId', () => {
    const stored = (companyId: string): unknown =>
      valueOf(validateCreate(endUser, { email: 'a@b.co', companyId })).companyId;
    expect(stored(COMPANY_ID.toUpperCase())).toBe(COMPANY_ID);
    // Alternate keys stay as written; the storage layer resolves them.
    expect(stored('extid-acme')).toBe('extid-acme');
    expect(stored('srcid-0012000001')).toBe('srcid-0012000001');

    const bad = errorsOf(validateCreate(endUser, { email: 'a@b.co', companyId: 'acme' }));
    expect(bad[0]).toMatchObject({ field: 'companyId', code: 'invalid_reference' });
    const empty = errorsOf(validateCreate(endUser, { email: 'a@b.co', companyId: 'extid-' }));
    expect(empty[0]?.code).toBe('invalid_reference');
  });

  it('checks enumerations, ranges and ObjectIds', () => {
    const status = errorsOf(validateCreate(company, { name: 'A', status: 'Customer' }));
    expect(status[0]).toMatchObject({ field: 'status', code: 'invalid_value' });

    const nps = getModel('Nps');
    expect(errorsOf(validateCreate(nps, { email: 'a@b.co', score: 11 }))[0]?.field).toBe('score');
    expect(errorsOf(validateCreate(nps, { email: 'a@b.co', score: 7.5 }))[0]?.field).toBe('score');
    expect(validateCreate(nps, { email: 'a@b.co', score: 0 }).ok).toBe(true);

    const owner = validateCreate(company, { name: 'A', owner: 'ABCDEFABCDEFABCDEFABCDEF' });
    expect(valueOf(owner).owner).toBe('abcdefabcdefabcdefabcdef');
  });

  it('checks and trims emails', () => {
    expect(valueOf(validateCreate(endUser, { email: ' ann@acme.com ' })).email).toBe(
      'ann@acme.com',
    );
    for (const email of ['ann', 'ann@acme', 'a b@acme.com', `${'a'.repeat(250)}@acme.com`]) {
      const errors = errorsOf(validateCreate(endUser, { email }));
      expect(errors[0]).toMatchObject({ field: 'email', code: 'invalid_email' });
    }
  });

  it('caps string length with a clear error', () => {
    const errors = errorsOf(validateCreate(company, { name: 'x'.repeat(10_001) }));
    expect(errors).toEqual([
      { field: 'name', code: 'too_long', message: 'name must be at most 10000 characters' },
    ]);
    // Descriptions hold bodies of text and may be longer.
    const long = validateCreate(company, { name: 'A', description: 'x'.repeat(50_000) });
    expect(long.ok).toBe(true);
  });

  it('derives an end user name unless one is given', () => {
    const derived = valueOf(
      validateCreate(endUser, { email: 'a@b.co', firstName: 'Ann', lastName: 'Lee' }),
    );
    expect(derived.name).toBe('Ann Lee');
    const first = valueOf(validateCreate(endUser, { email: 'a@b.co', firstName: ' Ann ' }));
    expect(first.name).toBe('Ann');
    const given = valueOf(
      validateCreate(endUser, { email: 'a@b.co', firstName: 'Ann', name: 'Annie' }),
    );
    expect(given.name).toBe('Annie');
    expect(valueOf(validateCreate(endUser, { email: 'a@b.co' }))).not.toHaveProperty('name');
  });

  it('never writes the denormalised company name', () => {
    const result = validateCreate(endUser, { email: 'a@b.co', companyName: 'Acme' });
    expect(valueOf(result)).not.toHaveProperty('companyName');
    expect(result.ok && result.ignoredFields).toEqual(['companyName']);
  });

  it('stores -0 as 0, as JSON would', () => {
    const value = valueOf(validateCreate(company, { name: 'A', csmScore: -0, custom: { x: -0 } }));
    expect(Object.is(value.csmScore, 0)).toBe(true);
    expect(value.custom).toEqual({ x: 0 });
  });

  it('accepts null to leave an optional field empty', () => {
    expect(valueOf(validateCreate(company, { name: 'A', owner: null })).owner).toBeNull();
  });

  it('rejects bodies that are not objects', () => {
    for (const body of [null, undefined, [], [{ name: 'A' }], 'name', 42, true]) {
      expect(errorsOf(validateCreate(company, body))).toEqual([
        { field: '', code: 'invalid_body', message: 'The body must be a JSON object' },
      ]);
    }
  });

  it('refuses writes to read-only models', () => {
    const user = getModel('User');
    const errors = errorsOf(validateCreate(user, { email: 'a@b.co' }));
    expect(errors).toEqual([
      { field: '', code: 'not_writable', message: 'User records are read-only' },
    ]);
    expect(errorsOf(validateUpdate(user, {}))[0]?.code).toBe('not_writable');
  });

  it('validates tickets for bulk upsert, their only write', () => {
    const ticket = getModel('Ticket');
    const body = { companyId: COMPANY_ID, sourceId: 'T-1', email: 'a@b.co', title: 'Help' };
    expect(validateCreate(ticket, body).ok).toBe(true);
    expect(errorsOf(validateCreate(ticket, { ...body, email: undefined }))[0]?.field).toBe('email');
  });
});

describe('dates', () => {
  const normalise = (customerFrom: unknown): unknown => {
    const result = validateCreate(company, { name: 'A', customerFrom });
    return result.ok ? result.value.customerFrom : result.errors[0]?.code;
  };

  it('normalises ISO 8601 and epoch milliseconds to UTC with milliseconds', () => {
    expect(normalise('2024-02-29')).toBe('2024-02-29T00:00:00.000Z');
    expect(normalise('2024-02-29T10:20:30Z')).toBe('2024-02-29T10:20:30.000Z');
    expect(normalise('2024-02-29T10:20:30.123456+02:00')).toBe('2024-02-29T08:20:30.123Z');
    expect(normalise('2024-02-29T10:20-0530')).toBe('2024-02-29T15:50:00.000Z');
    expect(normalise('2021-07-27T20:25:44.430Z')).toBe('2021-07-27T20:25:44.430Z');
    expect(normalise(1580229961944)).toBe('2020-01-28T16:46:01.944Z');
    expect(normalise('0050-06-01')).toBe('0050-06-01T00:00:00.000Z');
  });

  it('reads a date-time without an offset as UTC', () => {
    expect(normalise('2024-02-29T10:20:30')).toBe('2024-02-29T10:20:30.000Z');
  });

  it('rejects impossible or non-ISO dates', () => {
    const bad = ['2023-02-29', '2024-13-01', '2024-01-01T24:00', 'yesterday', '03/04/2024', ''];
    for (const text of bad) expect(normalise(text)).toBe('invalid_date');
    for (const number of [1.5, Number.NaN, 1e17, -1e17])
      expect(normalise(number)).toBe('invalid_date');
    expect(normalise(true)).toBe('invalid_date');
  });

  it('keeps invoice dates as day numbers', () => {
    const invoice = getModel('Invoice');
    const base = { cId: COMPANY_ID, currency: 'EUR' };
    const day = (date: unknown): unknown => {
      const result = validateCreate(invoice, { ...base, date });
      return result.ok ? result.value.date : result.errors[0]?.code;
    };
    expect(day(19782)).toBe(19782);
    expect(day('2024-02-29')).toBe(19782);
    expect(day('2024-02-29T23:59:59Z')).toBe(19782);
    expect(day(1580229961944)).toBe('invalid_date');
    expect(day(1.5)).toBe('invalid_date');
  });

  it('round-trips every representable instant', () => {
    const instant = fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 });
    fc.assert(
      fc.property(instant, (time) => {
        const iso = new Date(time).toISOString();
        expect(normalise(time)).toBe(iso);
        expect(normalise(iso)).toBe(iso);
      }),
    );
  });
});

describe('custom fields', () => {
  const defs: CustomFieldDefinition[] = [
    { model: 'Company', name: 'Seats', type: 'number' },
    { model: 'Company', name: 'Renewal', type: 'date' },
    { model: 'Company', name: 'Strategic', type: 'checkbox' },
    { model: 'Company', name: 'Legacy flag', type: 'boolean' },
    { model: 'Company', name: 'Regions', type: 'multipicklist' },
    { model: 'Company', name: 'Champion', type: 'team member' },
    { model: 'Company', name: 'Notes', type: 'rich text' },
    { model: 'Company', name: 'Billing email', type: 'email' },
    { model: 'Company', name: 'Formula', type: 'some future type' },
    { model: 'EndUser', name: 'Score', type: 'number' },
  ];
  const create = (custom: unknown): ValidationResult =>
    validateCreate(company, { name: 'A', custom }, defs);

  it('checks values against their definitions and normalises them', () => {
    const value = valueOf(
      create({
        Seats: 12,
        Renewal: 1580229961944,
        Strategic: true,
        'Legacy flag': false,
        Regions: ['EMEA'],
        Champion: COMPANY_ID,
        'Billing email': 'billing@acme.com',
      }),
    );
    expect(value.custom).toEqual({
      Seats: 12,
      Renewal: '2020-01-28T16:46:01.944Z',
      Strategic: true,
      'Legacy flag': false,
      Regions: ['EMEA'],
      Champion: COMPANY_ID,
      'Billing email': 'billing@acme.com',
    });
  });

  it('names the custom field of a wrong type', () => {
    expect(errorsOf(create({ Seats: 'twelve' }))).toEqual([
      { field: 'custom.Seats', code: 'invalid_type', message: 'custom.Seats must be a number' },
    ]);
    expect(errorsOf(create({ Strategic: 'yes' }))[0]?.field).toBe('custom.Strategic');
    expect(errorsOf(create({ Regions: ['EMEA', 3] }))[0]?.field).toBe('custom.Regions[1]');
    expect(errorsOf(create({ Renewal: 'soon' }))[0]?.code).toBe('invalid_date');
  });

  it('keeps values without a definition as they are', () => {
    const free = { Anything: { nested: [1, 'two', null] }, Score: 'high', Formula: 3 };
    expect(valueOf(create(free)).custom).toEqual(free);
  });

  it('lets rich text run longer than other strings', () => {
    expect(create({ Notes: 'x'.repeat(20_000) }).ok).toBe(true);
    expect(errorsOf(create({ Undeclared: 'x'.repeat(20_000) }))[0]?.code).toBe('too_long');
  });

  it('accepts null values and reads custom: null as no values', () => {
    expect(valueOf(create({ Seats: null })).custom).toEqual({ Seats: null });
    expect(valueOf(create(null)).custom).toEqual({});
    expect(errorsOf(create(['Seats']))[0]).toMatchObject({ field: 'custom', code: 'invalid_type' });
  });

  it('caps nesting depth', () => {
    // The custom object is the first level, so a value may nest one level less.
    expect(create({ Deep: nested(MAX_DEPTH - 1) }).ok).toBe(true);
    const errors = errorsOf(create({ Deep: nested(MAX_DEPTH) }));
    expect(errors[0]?.code).toBe('too_deep');
    expect(errors[0]?.field.startsWith('custom.Deep.next')).toBe(true);
  });

  it('tolerates malformed definitions', () => {
    const odd = [null, 'x', { model: 'Company' }, { model: 1, name: 'Seats', type: 'number' }];
    const result = validateCreate(
      company,
      { name: 'A', custom: { Seats: 'n/a' } },
      odd as unknown as CustomFieldDefinition[],
    );
    expect(result.ok).toBe(true);
  });

  it('lets the first definition of a name decide', () => {
    const twice: CustomFieldDefinition[] = [
      { model: 'company', name: 'Seats', type: 'some future type' },
      { model: 'Company', name: 'Seats', type: 'number' },
    ];
    const result = validateCreate(company, { name: 'A', custom: { Seats: 'n/a' } }, twice);
    expect(valueOf(result).custom).toEqual({ Seats: 'n/a' });
  });
});

describe('validateUpdate', () => {
  it('checks only the fields present', () => {
    const result = validateUpdate(company, { phase: 'Onboarding' });
    expect(result).toEqual({ ok: true, value: { phase: 'Onboarding' }, ignoredFields: [] });
    expect(valueOf(validateUpdate(company, {}))).toEqual({});
  });

  it('does not let a required field be cleared', () => {
    expect(errorsOf(validateUpdate(company, { name: '' }))[0]).toMatchObject({
      field: 'name',
      code: 'required',
    });
    expect(errorsOf(validateUpdate(company, { name: null }))[0]?.code).toBe('required');
  });

  it('applies no defaults or derived values', () => {
    const value = valueOf(validateUpdate(endUser, { firstName: 'Ann' }));
    expect(value).toEqual({ firstName: 'Ann' });
  });
});

describe('prototype safety', () => {
  it('never copies __proto__, constructor or prototype keys', () => {
    const body: unknown = JSON.parse(
      '{"name":"A","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},' +
        '"shareable":{"__proto__":{"polluted":1},"enabled":true},' +
        '"custom":{"__proto__":{"polluted":1},"prototype":1,"ok":{"constructor":1}}}',
    );
    const result = validateCreate(company, body);
    const value = valueOf(result);

    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(allKeys(value)).not.toContain('__proto__');
    expect(allKeys(value)).not.toContain('constructor');
    expect(value.shareable).toEqual({ enabled: true });
    expect(value.custom).toEqual({ ok: {} });
    expect(result.ok && result.ignoredFields).toEqual([
      '__proto__',
      'constructor',
      'shareable.__proto__',
      'custom.__proto__',
      'custom.prototype',
      'custom.ok.constructor',
    ]);
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });

  it('holds for arbitrary bodies with prototype-reaching keys', () => {
    const key = fc.oneof(
      fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'custom', 'shareable'),
      fc.string({ maxLength: 8 }),
    );
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.jsonValue({ maxDepth: 1 }),
        fc.dictionary(key, tie('value'), { maxKeys: 5 }),
      ),
    })).value;
    const body = fc
      .dictionary(key, json, { maxKeys: 8 })
      .map((built): unknown => JSON.parse(JSON.stringify(built)));

    fc.assert(
      fc.property(body, (input) => {
        for (const result of [validateCreate(company, input), validateUpdate(company, input)]) {
          if (!result.ok) continue;
          expect(allKeys(result.value).some((name) => name === '__proto__')).toBe(false);
          const merged = mergeUpdate(company, { name: 'Old', custom: { a: 1 } }, result.value);
          expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
        }
        expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
        expect(Object.keys(Object.prototype)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('arbitrary input', () => {
  const model = fc.constantFrom(...MODEL_DEFINITIONS);
  const fieldName = (definition: (typeof MODEL_DEFINITIONS)[number]): fc.Arbitrary<string> =>
    fc.oneof(fc.constantFrom(...Object.keys(definition.fields)), fc.string({ maxLength: 6 }));
  const body = model.chain((definition) =>
    fc.tuple(
      fc.constant(definition),
      fc.oneof(
        fc.jsonValue(),
        fc.dictionary(fieldName(definition), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 12 }),
      ),
    ),
  );

  it('never throws and never lets a protected or unknown field through', () => {
    fc.assert(
      fc.property(body, ([definition, input]) => {
        for (const result of [
          validateCreate(definition, input),
          validateUpdate(definition, input),
        ]) {
          if (!result.ok) {
            expect(result.errors.length).toBeGreaterThan(0);
            continue;
          }
          for (const key of Object.keys(result.value)) {
            expect(definition.computed).not.toContain(key);
            expect(Object.hasOwn(definition.fields, key)).toBe(true);
          }
          expect(JSON.parse(JSON.stringify(result.value))).toEqual(result.value);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('drops every computed field a body carries', () => {
    const withComputed = model.chain((definition) =>
      fc.tuple(
        fc.constant(definition),
        fc.subarray([...definition.computed], { minLength: 1 }),
        fc.jsonValue(),
      ),
    );
    fc.assert(
      fc.property(withComputed, ([definition, keys, junk]) => {
        const input = Object.fromEntries(keys.map((key) => [key, junk]));
        const result = validateUpdate(definition, input);
        if (!result.ok) return definition.storage === 'teamMembers';
        expect(result.value).toEqual({});
        expect(result.ignoredFields).toEqual(keys);
        return true;
      }),
    );
  });

  it('survives deep and wide values without throwing', () => {
    let deep: unknown = 'leaf';
    for (let level = 0; level < 10_000; level++) deep = [deep];
    const errors = errorsOf(validateCreate(company, { name: 'A', shareable: { deep } }));
    expect(errors[0]?.code).toBe('too_deep');

    const wide = Array.from({ length: 10_001 }, () => 'tag');
    expect(errorsOf(validateCreate(company, { name: 'A', tags: wide }))[0]?.code).toBe(
      'too_many_items',
    );
  });

  it('caps the number of errors it reports', () => {
    const custom = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`f${i}`, 'x']));
    const defs = Object.keys(custom).map((name) => ({ model: 'Company', name, type: 'number' }));
    const errors = errorsOf(validateCreate(company, { name: 'A', custom }, defs));
    expect(errors.length).toBe(100);
  });
});

describe('mergeUpdate', () => {
  it('replaces fields and merges custom values by name', () => {
    const existing = { name: 'Acme', tags: ['a'], custom: { Seats: 3, Tier: 'Gold' } };
    const merged = mergeUpdate(company, existing, { tags: ['b'], custom: { Seats: 5 } });
    expect(merged).toEqual({ name: 'Acme', tags: ['b'], custom: { Seats: 5, Tier: 'Gold' } });
    expect(existing.custom.Seats).toBe(3);
  });

  it('keeps a derived name in step with its sources', () => {
    const existing = { email: 'a@b.co', firstName: 'Ann', lastName: 'Lee', name: 'Ann Lee' };
    expect(mergeUpdate(endUser, existing, { lastName: 'Ng' }).name).toBe('Ann Ng');
    expect(mergeUpdate(endUser, existing, { lastName: 'Ng', name: 'Dr Ng' }).name).toBe('Dr Ng');

    const handSet = { ...existing, name: 'Annie' };
    expect(mergeUpdate(endUser, handSet, { lastName: 'Ng' }).name).toBe('Annie');
  });
});

describe('parseRecordKey', () => {
  it('reads the three key forms', () => {
    expect(parseRecordKey(COMPANY_ID)).toEqual({ kind: 'id', value: COMPANY_ID });
    expect(parseRecordKey(COMPANY_ID.toUpperCase())).toEqual({ kind: 'id', value: COMPANY_ID });
    expect(parseRecordKey('extid-1a')).toEqual({ kind: 'externalId', value: '1a' });
    expect(parseRecordKey('srcid-0012000001UchdsAAB')).toEqual({
      kind: 'sourceId',
      value: '0012000001UchdsAAB',
    });
  });

  it('percent-decodes raw path segments unless told the text is plain', () => {
    expect(parseRecordKey('extid-a%2Fb%20c')).toEqual({ kind: 'externalId', value: 'a/b c' });
    expect(parseRecordKey('extid-100%')).toEqual({ kind: 'invalid' });
    expect(parseRecordKey('extid-100%', 'plain')).toEqual({ kind: 'externalId', value: '100%' });
    expect(parseRecordKey('extid-%41', 'plain')).toEqual({ kind: 'externalId', value: '%41' });
  });

  it('rejects everything else', () => {
    for (const key of ['', 'extid-', 'srcid-', 'ext-1', 'EXTID-1', 'acme', COMPANY_ID + '0']) {
      expect(parseRecordKey(key)).toEqual({ kind: 'invalid' });
    }
    expect(parseRecordKey(42 as unknown as string)).toEqual({ kind: 'invalid' });
    expect(parseRecordKey('extid-' + 'x'.repeat(20_000))).toEqual({ kind: 'invalid' });
  });

  it('round-trips any external id and never throws', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50, unit: 'grapheme' }), (id) => {
        expect(parseRecordKey(`extid-${encodeURIComponent(id)}`)).toEqual({
          kind: 'externalId',
          value: id,
        });
        expect(() => parseRecordKey(id)).not.toThrow();
      }),
    );
  });
});

describe('newObjectId', () => {
  it('makes 24-hex ids starting with the creation time in seconds', () => {
    const id = newObjectId(new Date('2021-07-27T20:25:44.430Z'));
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    expect(id.slice(0, 8)).toBe((1627417544).toString(16));
    expect(newObjectId(1627417544999).slice(0, 8)).toBe(id.slice(0, 8));
  });

  it('is random after the timestamp', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newObjectId(0)));
    expect(ids.size).toBe(1000);
  });

  it('clamps times outside the four timestamp bytes', () => {
    expect(newObjectId(-5).slice(0, 8)).toBe('00000000');
    expect(newObjectId(1e15).slice(0, 8)).toBe('ffffffff');
    expect(() => newObjectId(Number.NaN)).toThrow(RangeError);
  });

  it('defaults to now', () => {
    const seconds = Number.parseInt(newObjectId().slice(0, 8), 16);
    expect(Math.abs(seconds - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe('applySelect', () => {
  const record = {
    _id: COMPANY_ID,
    name: 'Acme',
    phase: 'Live',
    custom: { Seats: 3, Tier: 'Gold' },
  };

  it('keeps the selected fields and always _id', () => {
    expect(applySelect(record, ['name', 'unknown'])).toEqual({ _id: COMPANY_ID, name: 'Acme' });
    expect(applySelect(record, ['custom.Seats'])).toEqual({
      _id: COMPANY_ID,
      custom: { Seats: 3 },
    });
    expect(applySelect(record, ['custom', 'custom.Seats'])).toEqual({
      _id: COMPANY_ID,
      custom: record.custom,
    });
  });

  it('copies the whole record without a selection', () => {
    const copy = applySelect(record, undefined);
    expect(copy).toEqual(record);
    expect(copy).not.toBe(record);
  });

  it('never changes the record', () => {
    applySelect(record, ['custom.Seats', 'custom', 'custom.Tier']);
    expect(record.custom).toEqual({ Seats: 3, Tier: 'Gold' });
  });
});

describe('parseListQuery', () => {
  const parse = (query: unknown, name: Parameters<typeof getModel>[0] = 'Company') =>
    parseListQuery(getModel(name), query);
  const queryOf = (query: unknown, name: Parameters<typeof getModel>[0] = 'Company') => {
    const result = parse(query, name);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    return result.value;
  };

  it('applies the defaults', () => {
    expect(queryOf({})).toEqual({
      limit: 100,
      offset: 0,
      sort: { field: '_id', direction: 'asc' },
      select: undefined,
      filters: [],
      ignoredParams: [],
    });
    expect(queryOf(undefined).limit).toBe(100);
  });

  it('clamps large limits to the model cap', () => {
    expect(queryOf({ limit: '5000', offset: '10' })).toMatchObject({ limit: 5000, offset: 10 });
    expect(queryOf({ limit: '10000' }).limit).toBe(5000);
    expect(queryOf({ limit: '10000' }, 'Task').limit).toBe(10_000);
    expect(queryOf({ limit: '99999999999999999999999' }).limit).toBe(5000);
  });

  it('names the parameter that is invalid', () => {
    for (const limit of ['abc', '-1', '0', '1.5', '1e3', ['10', '20']]) {
      const result = parse({ limit });
      expect(result.ok ? 'ok' : result.errors[0]?.field).toBe('limit');
    }
    const offset = parse({ offset: '-3' });
    expect(offset.ok ? 'ok' : offset.errors[0]).toEqual({
      field: 'offset',
      code: 'invalid_value',
      message: 'offset must be a whole number of 0 or more',
    });
    const nestedQuery = parse({ limit: { $gt: '1' } });
    expect(nestedQuery.ok ? 'ok' : nestedQuery.errors[0]?.code).toBe('invalid_type');
  });

  it('sorts by known fields and custom values', () => {
    expect(queryOf({ sort: '-name' }).sort).toEqual({ field: 'name', direction: 'desc' });
    expect(queryOf({ sort: 'custom.Seats' }).sort).toEqual({
      field: 'custom.Seats',
      direction: 'asc',
    });
    expect(queryOf({ sort: '-mrr' }).sort.field).toBe('mrr');
    for (const sort of ['shoeSize', '-', 'custom.', 'constructor', '__proto__']) {
      const result = parse({ sort });
      expect(result.ok ? 'ok' : result.errors[0]?.field).toBe('sort');
    }
  });

  it('reads select as a comma list with _id first', () => {
    expect(queryOf({ select: 'name, companyId' }).select).toEqual(['_id', 'name', 'companyId']);
    expect(queryOf({ select: ['name', 'phase,name'] }).select).toEqual(['_id', 'name', 'phase']);
    expect(queryOf({ select: ' , ' }).select).toBeUndefined();
  });

  it('maps companyId onto each model’s company reference', () => {
    const ids = `${COMPANY_ID},extid-acme`;
    const expected = [COMPANY_ID, 'extid-acme'];
    expect(queryOf({ companyId: ids }, 'EndUser').filters).toEqual([
      { param: 'companyId', field: 'companyId', values: expected },
    ]);
    expect(queryOf({ companyId: ids }, 'Invoice').filters[0]?.field).toBe('cId');
    expect(queryOf({ companyId: ids }, 'Issue').filters[0]?.field).toBe('companyIds');
    expect(queryOf({ companyId: ids }).filters[0]?.field).toBe('_id');

    const bad = parse({ companyId: `${COMPANY_ID},acme` }, 'EndUser');
    expect(bad.ok ? 'ok' : bad.errors[0]).toMatchObject({
      field: 'companyId',
      code: 'invalid_reference',
    });
  });

  it('filters by equality and ignores what it does not know', () => {
    const query = queryOf(
      { email: 'a@b.co', status: 'customer,lost', c: COMPANY_ID, isArchived: 'true' },
      'EndUser',
    );
    expect(query.filters).toEqual([{ param: 'email', field: 'email', values: ['a@b.co'] }]);
    expect(query.ignoredParams).toEqual(['status', 'c', 'isArchived']);

    expect(queryOf({ status: 'customer,lost', type: 'x' }).filters).toEqual([
      { param: 'status', field: 'status', values: ['customer', 'lost'] },
    ]);
    expect(queryOf({ type: 'note' }, 'Conversation').filters[0]?.values).toEqual(['note']);
    expect(queryOf({ externalId: 'a,b' }).filters[0]?.values).toEqual(['a,b']);
  });

  it('reads the lean company view', () => {
    const result = parseListQuery(
      company,
      { select: 'name,phase', status: 'customer' },
      {
        view: 'lean',
      },
    );
    if (!result.ok) throw new Error('expected success');
    expect(result.value.limit).toBe(50_000);
    expect(result.value.select).toEqual(['_id', 'name']);
    expect(result.value.filters[0]?.field).toBe('status');

    const all = parseListQuery(company, {}, { view: 'lean' });
    expect(all.ok && all.value.select).toEqual(['_id', 'name', 'externalId', 'sourceId', 'slug']);
  });

  it('never throws on arbitrary query objects', () => {
    const value = fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue());
    const param = fc.oneof(
      fc.constantFrom('limit', 'offset', 'sort', 'select', 'companyId', 'email', 'status'),
      fc.string(),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...MODEL_DEFINITIONS),
        fc.dictionary(param, value),
        (model, query) => {
          const result = parseListQuery(model, query);
          if (!result.ok) return result.errors.length > 0;
          expect(result.value.limit).toBeLessThanOrEqual(model.listLimits.max);
          expect(result.value.limit).toBeGreaterThan(0);
          return true;
        },
      ),
    );
  });
});
