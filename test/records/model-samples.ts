import type { RecordModelName } from '../../src/records/model-catalogue.js';

/** A body that creates a valid record of a model, given a company's id and a suffix. */
export interface ModelSample {
  model: RecordModelName;
  path: string;
  create(companyId: string, n: string): Record<string, unknown>;
  /** A partial update and the field it changes. */
  update: { field: string; value: unknown };
  /** Whether records carry externalId and sourceId (custom fields do not). */
  keyables: boolean;
}

/** One sample per model that `/{model}` creates and edits one record at a time. */
export const MODEL_SAMPLES: readonly ModelSample[] = [
  {
    model: 'Company',
    path: 'companies',
    create: (_c, n) => ({ name: `Company ${n}`, externalId: `co-${n}`, sourceId: `sf-${n}` }),
    update: { field: 'phase', value: 'Onboarding' },
    keyables: true,
  },
  {
    model: 'EndUser',
    path: 'endusers',
    create: (c, n) => ({
      email: `user-${n}@example.test`,
      companyId: c,
      firstName: 'Ann',
      lastName: `Lee ${n}`,
      externalId: `eu-${n}`,
      sourceId: `sf-eu-${n}`,
    }),
    update: { field: 'position', value: 'CTO' },
    keyables: true,
  },
  {
    model: 'Conversation',
    path: 'conversations',
    create: (c, n) => ({
      companyId: c,
      type: 'note',
      subject: `Call ${n}`,
      externalId: `cv-${n}`,
      sourceId: `sf-cv-${n}`,
    }),
    update: { field: 'subject', value: 'Renewal call' },
    keyables: true,
  },
  {
    model: 'License',
    path: 'licenses',
    create: (c, n) => ({
      companyId: c,
      _currency: 'USD',
      fromDate: '2024-01-01',
      mrr: 100,
      externalId: `li-${n}`,
      sourceId: `sf-li-${n}`,
    }),
    update: { field: 'mrr', value: 250 },
    keyables: true,
  },
  {
    model: 'Invoice',
    path: 'invoices',
    create: (c, n) => ({
      cId: c,
      currency: 'EUR',
      date: 19782,
      externalId: `in-${n}`,
      sourceId: `sf-in-${n}`,
    }),
    update: { field: 'status', value: 'paid' },
    keyables: true,
  },
  {
    model: 'Issue',
    path: 'issues',
    create: (c, n) => ({
      title: `Bug ${n}`,
      sourceId: `jira-${n}`,
      archived: false,
      companyIds: [c],
      externalId: `is-${n}`,
    }),
    update: { field: 'status', value: 'done' },
    keyables: true,
  },
  {
    model: 'Task',
    path: 'tasks',
    create: (c, n) => ({
      mainType: 'task',
      companyId: c,
      action: `Follow up ${n}`,
      externalId: `ta-${n}`,
      sourceId: `sf-ta-${n}`,
    }),
    update: { field: 'status', value: 'done' },
    keyables: true,
  },
  {
    model: 'Opportunity',
    path: 'opportunities',
    create: (c, n) => ({
      companyId: c,
      title: `Upsell ${n}`,
      value: 1000,
      externalId: `op-${n}`,
      sourceId: `sf-op-${n}`,
    }),
    update: { field: 'salesStage', value: 'Won' },
    keyables: true,
  },
  {
    model: 'Project',
    path: 'projects',
    create: (c, n) => ({
      name: `Rollout ${n}`,
      companyId: c,
      externalId: `pr-${n}`,
      sourceId: `sf-pr-${n}`,
    }),
    update: { field: 'status', value: 'active' },
    keyables: true,
  },
  {
    model: 'Asset',
    path: 'assets',
    create: (c, n) => ({
      name: `Site ${n}`,
      companyId: c,
      externalId: `as-${n}`,
      sourceId: `sf-as-${n}`,
    }),
    update: { field: 'description', value: 'Main site' },
    keyables: true,
  },
  {
    model: 'Campaign',
    path: 'campaigns',
    create: (c, n) => ({
      name: `Spring ${n}`,
      companyId: c,
      externalId: `ca-${n}`,
      sourceId: `sf-ca-${n}`,
    }),
    update: { field: 'status', value: 'sent' },
    keyables: true,
  },
  {
    model: 'Churn',
    path: 'churn',
    create: (c, n) => ({
      companyId: c,
      value: 500,
      reasons: ['price'],
      externalId: `ch-${n}`,
      sourceId: `sf-ch-${n}`,
    }),
    update: { field: 'comment', value: 'Budget cut' },
    keyables: true,
  },
  {
    model: 'Nps',
    path: 'nps',
    create: (c, n) => ({
      email: `nps-${n}@example.test`,
      score: 9,
      cId: c,
      externalId: `np-${n}`,
      sourceId: `sf-np-${n}`,
    }),
    update: { field: 'comment', value: 'Great' },
    keyables: true,
  },
  {
    model: 'Objective',
    path: 'objectives',
    create: (c, n) => ({
      name: `Adoption ${n}`,
      companyId: c,
      externalId: `ob-${n}`,
      sourceId: `sf-ob-${n}`,
    }),
    update: { field: 'health', value: 7 },
    keyables: true,
  },
  {
    model: 'Sale',
    path: 'sales',
    create: (c, n) => ({
      companyId: c,
      _currency: 'USD',
      salesDate: '2024-02-29',
      value: 300,
      externalId: `sa-${n}`,
      sourceId: `sf-sa-${n}`,
    }),
    update: { field: 'product', value: 'Seats' },
    keyables: true,
  },
  {
    model: 'Workspace',
    path: 'workspaces',
    create: (c, n) => ({
      name: `EMEA ${n}`,
      companyId: c,
      externalId: `ws-${n}`,
      sourceId: `sf-ws-${n}`,
    }),
    update: { field: 'description', value: 'Europe' },
    keyables: true,
  },
  {
    model: 'CustomField',
    path: 'customfields',
    create: (_c, n) => ({ name: `Tier ${n}`, type: 'text', parent: 'Company', isHidden: false }),
    update: { field: 'description', value: 'Support tier' },
    keyables: false,
  },
];
