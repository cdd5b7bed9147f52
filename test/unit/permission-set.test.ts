import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTIONS,
  MODELS,
  allActions,
  diffPermissions,
  emptyPermissions,
  fullPermissions,
  missingGrants,
  normalizePermissions,
  unionPermissions,
  type PermissionSet,
} from '../../src/permissions/permission-set.js';

const VIEW = { ...allActions(false), view: true };

const permissionSet: fc.Arbitrary<PermissionSet> = fc
  .dictionary(
    fc.constantFrom(...MODELS),
    fc.record(
      Object.fromEntries(ACTIONS.map((a) => [a, fc.boolean()])) as Record<
        (typeof ACTIONS)[number],
        fc.Arbitrary<boolean>
      >,
    ),
  )
  .map((models) => ({ models, fields: {} }));

describe('permission sets', () => {
  it('unions roles action by action', () => {
    const union = unionPermissions([
      { models: { Company: VIEW }, fields: {} },
      { models: { Company: { ...allActions(false), update: true }, EndUser: VIEW }, fields: {} },
    ]);
    expect(union.models.Company).toMatchObject({ view: true, update: true, create: false });
    expect(union.models.EndUser?.view).toBe(true);
  });

  it('keeps a field rule only when every granting role imposes it, at its loosest', () => {
    const hidden = { models: { Company: VIEW }, fields: { Company: { arr: 'hidden' as const } } };
    const read = { models: { Company: VIEW }, fields: { Company: { arr: 'read' as const } } };
    const open = { models: { Company: VIEW }, fields: {} };
    expect(unionPermissions([hidden, read]).fields.Company).toEqual({ arr: 'read' });
    expect(unionPermissions([hidden, open]).fields.Company).toBeUndefined();
  });

  it('names every grant a holder lacks, fields included', () => {
    const holder = { models: { Company: VIEW }, fields: { Company: { arr: 'read' as const } } };
    const wanted = { models: { Company: { ...VIEW, update: true } }, fields: {} };
    expect(missingGrants(holder, wanted)).toEqual(['Company.update', 'Company.arr.write']);
    expect(missingGrants(fullPermissions(), wanted)).toEqual([]);
  });

  it('never lets a set exceed its holder: subsets pass, supersets fail', () => {
    fc.assert(
      fc.property(permissionSet, permissionSet, (a, b) => {
        const union = unionPermissions([a, b]);
        expect(missingGrants(union, a)).toEqual([]);
        expect(missingGrants(union, b)).toEqual([]);
        const lacking = missingGrants(a, union);
        const diff = diffPermissions(a, union);
        expect(lacking.sort()).toEqual(diff.granted.sort());
      }),
    );
  });

  it('rebuilds from any JSON without unknown models or values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const set = normalizePermissions(value);
        for (const model of Object.keys(set.models)) expect(MODELS).toContain(model);
      }),
    );
    expect(normalizePermissions({ models: { Nope: VIEW, Company: { view: 'yes' } } })).toEqual({
      models: { Company: allActions(false) },
      fields: {},
    });
    expect(normalizePermissions(null)).toEqual(emptyPermissions());
  });
});
