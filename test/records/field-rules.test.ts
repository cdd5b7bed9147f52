import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { FieldAccess } from '../../src/permissions/permission-set.js';
import {
  accessTo,
  findReadOnlyWrites,
  isHidden,
  redactHidden,
  type FieldRules,
} from '../../src/records/field-rules.js';

const record = {
  _id: '5e298986569b369503683cf6',
  name: 'Acme',
  mrr: 1200,
  owner: '61006bc89a3e0b702ed8ea49',
  custom: { Seats: 3, 'Churn risk': 'high' },
};

describe('accessTo and isHidden', () => {
  const rules: FieldRules = { mrr: 'hidden', owner: 'read', 'custom.Seats': 'read' };

  it('treats fields without a rule as writable', () => {
    expect(accessTo('name', rules)).toBe('write');
    expect(accessTo('name', undefined)).toBe('write');
    expect(accessTo('mrr', rules)).toBe('hidden');
    expect(isHidden('mrr', rules)).toBe(true);
    expect(isHidden('owner', rules)).toBe(false);
  });

  it('lets a rule on custom cap every custom value', () => {
    expect(accessTo('custom.Seats', rules)).toBe('read');
    expect(accessTo('custom.Other', rules)).toBe('write');
    const capped: FieldRules = { custom: 'read', 'custom.Seats': 'write', 'custom.Tier': 'hidden' };
    expect(accessTo('custom.Seats', capped)).toBe('read');
    expect(accessTo('custom.Tier', capped)).toBe('hidden');
    expect(isHidden('custom.Anything', { custom: 'hidden' })).toBe(true);
  });

  it('never hides _id', () => {
    expect(isHidden('_id', { _id: 'hidden' })).toBe(false);
  });

  it('ignores the prototype and fails closed on unknown rule values', () => {
    expect(accessTo('constructor', {})).toBe('write');
    expect(accessTo('toString', rules)).toBe('write');
    const stored = { mrr: 'secret' } as unknown as FieldRules;
    expect(accessTo('mrr', stored)).toBe('hidden');
  });
});

describe('redactHidden', () => {
  it('removes hidden fields and hidden custom values', () => {
    const rules: FieldRules = { mrr: 'hidden', owner: 'read', 'custom.Churn risk': 'hidden' };
    expect(redactHidden(record, rules)).toEqual({
      _id: record._id,
      name: 'Acme',
      owner: record.owner,
      custom: { Seats: 3 },
    });
    expect(record.custom).toEqual({ Seats: 3, 'Churn risk': 'high' });
  });

  it('removes custom entirely when it is hidden', () => {
    expect(redactHidden(record, { custom: 'hidden' })).not.toHaveProperty('custom');
  });

  it('copies the record when nothing is hidden', () => {
    const copy = redactHidden(record, undefined);
    expect(copy).toEqual(record);
    expect(copy).not.toBe(record);
  });

  it('never returns a hidden field', () => {
    const access = fc.constantFrom<FieldAccess>('hidden', 'read', 'write');
    const name = fc.constantFrom(
      'name',
      'mrr',
      'owner',
      'custom',
      'custom.Seats',
      'custom.Churn risk',
    );
    fc.assert(
      fc.property(fc.dictionary(name, access), (rules) => {
        const visible = redactHidden(record, rules);
        for (const key of Object.keys(visible)) expect(isHidden(key, rules)).toBe(false);
        const custom = visible.custom;
        if (typeof custom === 'object' && custom !== null) {
          for (const key of Object.keys(custom))
            expect(isHidden(`custom.${key}`, rules)).toBe(false);
        }
      }),
    );
  });
});

describe('findReadOnlyWrites', () => {
  const rules: FieldRules = { mrr: 'hidden', owner: 'read', 'custom.Seats': 'read' };

  it('lists the fields the body may not write, in body order', () => {
    const body = { owner: 'x', name: 'New', mrr: 5, custom: { Seats: 4, Other: 1 } };
    expect(findReadOnlyWrites(body, rules)).toEqual(['owner', 'mrr', 'custom.Seats']);
  });

  it('allows writes without rules or to writable fields', () => {
    expect(findReadOnlyWrites({ owner: 'x' }, undefined)).toEqual([]);
    expect(findReadOnlyWrites({ name: 'x', custom: { Other: 1 } }, rules)).toEqual([]);
  });

  it('treats a non-object custom as a write to custom', () => {
    expect(findReadOnlyWrites({ custom: 'x' }, { custom: 'read' })).toEqual(['custom']);
    expect(findReadOnlyWrites({ custom: {} }, { custom: 'read' })).toEqual([]);
  });
});
