import { describe, expect, it } from 'vitest';

import { isModel } from '../../src/permissions/permission-set.js';
import {
  CUSTOM_FIELD_TYPES,
  INTERNAL_MODELS,
  OPERATION_ACTIONS,
  RECORD_MODEL_NAMES,
  MODEL_DEFINITIONS,
  allows,
  findModelByPath,
  getField,
  getModel,
  isRecordModelName,
  type ModelDefinition,
} from '../../src/records/model-catalogue.js';

const EXPECTED_PATHS = {
  Company: 'companies',
  EndUser: 'endusers',
  Conversation: 'conversations',
  License: 'licenses',
  Invoice: 'invoices',
  Issue: 'issues',
  Task: 'tasks',
  Opportunity: 'opportunities',
  Project: 'projects',
  Asset: 'assets',
  Campaign: 'campaigns',
  Churn: 'churn',
  Nps: 'nps',
  Objective: 'objectives',
  Sale: 'sales',
  Workspace: 'workspaces',
  User: 'users',
  CustomField: 'customfields',
  Ticket: 'tickets',
} as const;

const SYSTEM_FIELDS = ['_id', 'createdAt', 'updatedAt', '__v', 'createdBy', 'updatedBy'];

function fieldNames(model: ModelDefinition): string[] {
  return Object.keys(model.fields);
}

describe('record model list', () => {
  it('serves every Planhat model at its Planhat path', () => {
    const paths = Object.fromEntries(MODEL_DEFINITIONS.map((model) => [model.name, model.path]));
    expect(paths).toEqual(EXPECTED_PATHS);
    expect(RECORD_MODEL_NAMES).toEqual(Object.keys(EXPECTED_PATHS));
  });

  it('names each model as the permission set does', () => {
    for (const name of RECORD_MODEL_NAMES) expect(isModel(name)).toBe(true);
  });

  it('keeps the internal permission models apart', () => {
    expect([...INTERNAL_MODELS]).toEqual(['ServiceAccount', 'User', 'Role', 'Settings']);
    expect(RECORD_MODEL_NAMES).not.toContain('ServiceAccount');
    expect(isRecordModelName('Role')).toBe(false);
    expect(isRecordModelName('Company')).toBe(true);
  });

  it('finds models by path and by name', () => {
    for (const model of MODEL_DEFINITIONS) {
      expect(findModelByPath(model.path)).toBe(model);
      expect(getModel(model.name)).toBe(model);
    }
    for (const path of ['churns', 'notes', 'leancompanies', '__proto__', 'constructor', '']) {
      expect(findModelByPath(path)).toBeUndefined();
    }
  });
});

describe.each(MODEL_DEFINITIONS.map((model) => [model.name, model] as const))(
  '%s definition',
  (_name, model) => {
    it('lists the server-set fields as known and computed', () => {
      for (const field of SYSTEM_FIELDS) {
        expect(getField(model, field)).toBeDefined();
        expect(model.computed).toContain(field);
      }
    });

    it('only names known fields', () => {
      const known = fieldNames(model);
      const named = [
        ...model.required,
        ...model.requiredOneOf.flat(),
        ...model.computed,
        ...model.derived.flatMap((derived) => [derived.field, ...derived.from]),
        ...Object.keys(model.defaults),
        ...model.upsertKeys,
        ...Object.values(model.listFilters),
        model.defaultSort.replace(/^-/, ''),
      ];
      for (const field of named) expect(known).toContain(field);
    });

    it('never requires a field the server computes', () => {
      for (const field of [...model.required, ...model.requiredOneOf.flat()]) {
        expect(model.computed).not.toContain(field);
      }
    });

    it('points at its company through a reference field', () => {
      const ref = model.companyRef;
      if (ref === undefined) return;
      const type = getField(model, ref.field)?.type;
      expect(type).toBe(ref.many ? 'reference[]' : 'reference');
      if (ref.onCreate === 'required') expect(model.required).toContain(ref.field);
      if (ref.nameField !== undefined) expect(model.computed).toContain(ref.nameField);
      expect(model.listFilters.companyId).toBe(ref.field);
    });

    it('sorts by _id unless told otherwise', () => {
      expect(model.defaultSort).toBe('_id');
      expect(model.listLimits.default).toBe(100);
      expect(model.listLimits.max).toBeGreaterThanOrEqual(5000);
    });
  },
);

describe('model specifics', () => {
  it('scopes externalId by company for child models only', () => {
    expect(getModel('Company').externalIdScope).toBe('workspace');
    expect(getModel('EndUser').externalIdScope).toBe('company');
    expect(getModel('Invoice').externalIdScope).toBe('company');
    expect(getModel('Issue').externalIdScope).toBe('workspace');
  });

  it('links invoices by cId and issues by companyIds', () => {
    expect(getModel('Invoice').companyRef).toMatchObject({ field: 'cId', many: false });
    expect(getModel('Issue').companyRef).toMatchObject({ field: 'companyIds', many: true });
    expect(getModel('Company').companyRef).toBeUndefined();
    expect(getModel('Company').listFilters.companyId).toBe('_id');
  });

  it('describes the lean company view', () => {
    const lean = getModel('Company').leanView;
    expect(lean?.path).toBe('leancompanies');
    expect(lean?.fields).toEqual(['_id', 'name', 'externalId', 'sourceId', 'slug']);
    expect(lean?.operations).toEqual(['list']);
    expect(lean?.listFilters).toMatchObject({ externalId: 'externalId', status: 'status' });
  });

  it('serves team members read-only from their own table', () => {
    const user = getModel('User');
    expect(user.storage).toBe('teamMembers');
    expect(user.operations).toEqual(['read', 'list', 'export']);
    expect(MODEL_DEFINITIONS.filter((model) => model.storage !== 'records')).toEqual([user]);
  });

  it('limits tickets to bulk upsert, list and delete', () => {
    const ticket = getModel('Ticket');
    expect(allows(ticket, 'bulkUpsert')).toBe(true);
    expect(allows(ticket, 'create')).toBe(false);
    expect(allows(ticket, 'update')).toBe(false);
    expect(ticket.upsertKeys).toEqual(['_id', 'sourceId']);
  });

  it('gives custom fields no bulk upsert', () => {
    const customField = getModel('CustomField');
    expect(allows(customField, 'bulkUpsert')).toBe(false);
    expect(getField(customField, 'type')?.values).toEqual(CUSTOM_FIELD_TYPES);
  });

  it('records required fields from Planhat', () => {
    expect(getModel('Company').required).toEqual(['name']);
    expect(getModel('License').required).toEqual(['_currency', 'companyId', 'fromDate']);
    expect(getModel('License').requiredOneOf).toEqual([['mrr', 'value']]);
    expect(getModel('Invoice').required).toEqual(['cId', 'currency']);
    expect(getModel('Task').required).toEqual(['mainType', 'companyId']);
    // An end user without companyId is matched to a company by email domain.
    expect(getModel('EndUser').required).toEqual(['email']);
    expect(getModel('EndUser').companyRef?.onCreate).toBe('matchedByEmail');
  });

  it('derives an end user name and denormalises company names', () => {
    const endUser = getModel('EndUser');
    expect(endUser.derived).toEqual([{ field: 'name', from: ['firstName', 'lastName'] }]);
    expect(endUser.computed).toContain('companyName');
    expect(endUser.computed).not.toContain('name');
    expect(getModel('Invoice').computed).toContain('cName');
  });

  it('pages large models by up to 10,000', () => {
    for (const name of ['Nps', 'Task', 'User', 'Ticket'] as const) {
      expect(getModel(name).listLimits.max).toBe(10_000);
    }
    expect(getModel('Company').listLimits.max).toBe(5000);
  });

  it('keeps field lookups off the prototype', () => {
    const company = getModel('Company');
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      expect(getField(company, name)).toBeUndefined();
    }
  });

  it('freezes definitions and defaults', () => {
    const company = getModel('Company');
    expect(Object.isFrozen(company)).toBe(true);
    expect(Object.isFrozen(company.fields)).toBe(true);
    expect(Object.isFrozen(company.defaults.tags)).toBe(true);
  });

  it('maps operations onto permission actions', () => {
    expect(OPERATION_ACTIONS.read).toEqual(['view']);
    expect(OPERATION_ACTIONS.delete).toEqual(['remove']);
    expect(OPERATION_ACTIONS.bulkUpsert).toEqual(['create', 'update']);
  });
});
