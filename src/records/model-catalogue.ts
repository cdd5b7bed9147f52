/**
 * Every Planhat record model App Center serves, at its Planhat path, with the
 * fields that request validation, list queries and field permissions rely on.
 *
 * Writes keep only the fields listed here (Planhat ignores unknown fields as
 * well), so the lists lean towards completeness: they hold Planhat's documented
 * properties plus the fields that real clients send and read back.
 */
import type { Action } from '../permissions/permission-set.js';

// The permission set owns the internal models; they are listed here beside the
// record models so that one import names every model.
export { INTERNAL_MODELS } from '../permissions/permission-set.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * How a field's value is checked and normalised on write:
 * - `date`: ISO 8601 string or epoch milliseconds, stored as ISO 8601 UTC with
 *   milliseconds.
 * - `day`: whole days since 1970-01-01 (Planhat's invoice dates), or an ISO
 *   8601 date.
 * - `objectId`: 24 hex characters, stored in lower case.
 * - `reference`: an ObjectId, `extid-<externalId>` or `srcid-<sourceId>` naming
 *   another record; the storage layer resolves it.
 * - `object`, `array`, `json`: free-form JSON of that shape, depth-capped.
 * - `custom`: custom field values, checked against the workspace's custom field
 *   definitions.
 */
export type FieldType =
  | 'string'
  | 'number'
  | 'boolean'
  | 'date'
  | 'day'
  | 'email'
  | 'objectId'
  | 'reference'
  | 'string[]'
  | 'objectId[]'
  | 'reference[]'
  | 'object'
  | 'array'
  | 'json'
  | 'custom';

export interface FieldDefinition {
  readonly type: FieldType;
  /** Longest accepted string; text bodies allow more than the default. */
  readonly maxLength?: number;
  /** The only accepted strings, where Planhat documents a set. */
  readonly values?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
}

export type Operation = 'create' | 'read' | 'update' | 'delete' | 'list' | 'bulkUpsert' | 'export';

export type RecordModelName =
  | 'Company'
  | 'EndUser'
  | 'Conversation'
  | 'License'
  | 'Invoice'
  | 'Issue'
  | 'Task'
  | 'Opportunity'
  | 'Project'
  | 'Asset'
  | 'Campaign'
  | 'Churn'
  | 'Nps'
  | 'Objective'
  | 'Sale'
  | 'Workspace'
  | 'User'
  | 'CustomField'
  | 'Ticket';

/** The query parameters that filter lists by equality. */
export type ListFilterParam = 'companyId' | 'email' | 'externalId' | 'sourceId' | 'status' | 'type';

export interface ListLimits {
  /** Page size when the request gives no `limit`. */
  readonly default: number;
  /** Larger limits are clamped to this, as clients expect, not rejected. */
  readonly max: number;
}

/**
 * How a record points at the company it belongs to.
 * - `field`: the body field holding the reference (`companyId`, `cId` or
 *   `companyIds`).
 * - `many`: the field is an array of references (issues span several
 *   companies).
 * - `nameField`: the denormalised company name the storage layer fills from the
 *   reference.
 * - `onCreate`: `required`, `optional`, or `matchedByEmail` when the storage
 *   layer finds the company from the record's email if the body names none (an
 *   end user by email domain, an NPS response through the end user with that
 *   email).
 * - `dependent`: the record cannot exist without its company, so deleting the
 *   company deletes it. Records that may lack a company (NPS responses, issues
 *   spanning companies) outlive it.
 */
export interface CompanyReference {
  readonly field: string;
  readonly many: boolean;
  readonly nameField?: string;
  readonly onCreate: 'required' | 'optional' | 'matchedByEmail';
  readonly dependent: boolean;
}

/** When the body leaves `field` empty, it becomes `from` joined by spaces. */
export interface DerivedField {
  readonly field: string;
  readonly from: readonly string[];
}

/** The stored records a model sees: tickets are the conversations of type `ticket`. */
export interface RecordScope {
  readonly field: string;
  readonly value: string;
}

/** `GET /leancompanies`: a read-only projection of companies. */
export interface LeanView {
  readonly path: string;
  readonly fields: readonly string[];
  readonly operations: readonly Operation[];
  readonly listLimits: ListLimits;
  readonly listFilters: Readonly<Partial<Record<ListFilterParam, string>>>;
}

export interface ModelDefinition {
  /** The data-model name that permissions use, such as `Company`. */
  readonly name: RecordModelName;
  /** The Planhat path segment, such as `companies` or `churn`. */
  readonly path: string;
  /** `teamMembers`: read from the team-member table, not the records. */
  readonly storage: 'records' | 'teamMembers';
  /**
   * The model whose stored records this one reads and writes, itself for all but
   * tickets, which are conversations. Audit events name this model too.
   */
  readonly storedAs: RecordModelName;
  /** When set, this model sees only the stored records whose `field` holds `value`. */
  readonly scope?: RecordScope;
  /** Every known field, writable or not. Read it with `getField`. */
  readonly fields: Readonly<Record<string, FieldDefinition>>;
  readonly required: readonly string[];
  /** Groups of fields of which a create must set at least one. */
  readonly requiredOneOf: readonly (readonly string[])[];
  /** Fields the server computes; a body never writes them. */
  readonly computed: readonly string[];
  readonly derived: readonly DerivedField[];
  /** Values a created record starts with when the body does not set them. */
  readonly defaults: Readonly<JsonObject>;
  readonly companyRef: CompanyReference | undefined;
  /**
   * Where `externalId` must be unique: among the records of one company for
   * child models, across the workspace otherwise. `sourceId` is always unique
   * per model and workspace.
   */
  readonly externalIdScope: 'company' | 'workspace';
  /** Keys a bulk upsert matches existing records on, tried in this order. */
  readonly upsertKeys: readonly string[];
  readonly operations: readonly Operation[];
  /** Sort field when the request gives none; `-` prefix for descending. */
  readonly defaultSort: string;
  readonly listLimits: ListLimits;
  /** Query parameter to the stored field it compares with. */
  readonly listFilters: Readonly<Partial<Record<ListFilterParam, string>>>;
  readonly leanView?: LeanView;
}

export const MAX_STRING_LENGTH = 10_000;
/** For descriptions, note and email bodies, and rich text. */
export const MAX_TEXT_LENGTH = 500_000;

const ALL_OPERATIONS: readonly Operation[] = [
  'create',
  'read',
  'update',
  'delete',
  'list',
  'bulkUpsert',
  'export',
];

/**
 * The permission action each operation needs. A bulk upsert needs `create` for
 * the items it inserts and `update` for the ones it matches, checked item by
 * item.
 */
export const OPERATION_ACTIONS: Readonly<Record<Operation, readonly Action[]>> = {
  create: ['create'],
  read: ['view'],
  list: ['view'],
  update: ['update'],
  delete: ['remove'],
  bulkUpsert: ['create', 'update'],
  export: ['export'],
};

// Page caps follow what clients already request: Airbyte pages nps, tasks,
// users and tickets by 10,000 and stops at the first short page, so a lower cap
// would silently truncate them.
const STANDARD_LIMITS: ListLimits = { default: 100, max: 5000 };
const LARGE_LIMITS: ListLimits = { default: 100, max: 10_000 };
// The lean list escapes the usual page cap: clients read it whole to map ids.
const LEAN_LIMITS: ListLimits = { default: 50_000, max: 50_000 };

/**
 * Planhat's custom field types, as `type` on a custom field definition. The
 * lower-case spellings with spaces are Planhat's own.
 */
export const CUSTOM_FIELD_TYPES = [
  'text',
  'rich text',
  'number',
  'rating',
  'checkbox',
  'date',
  'day',
  'list',
  'multipicklist',
  'team member',
  'team members',
  'enduser',
  'endusers',
  'phone',
  'email',
  'url',
] as const;

export type CustomFieldType = (typeof CUSTOM_FIELD_TYPES)[number];

export const COMPANY_STATUSES = ['prospect', 'coming', 'customer', 'canceled', 'lost'] as const;

const f = {
  string: { type: 'string' },
  text: { type: 'string', maxLength: MAX_TEXT_LENGTH },
  number: { type: 'number' },
  integer: { type: 'number', integer: true },
  boolean: { type: 'boolean' },
  date: { type: 'date' },
  day: { type: 'day' },
  email: { type: 'email' },
  objectId: { type: 'objectId' },
  reference: { type: 'reference' },
  strings: { type: 'string[]' },
  objectIds: { type: 'objectId[]' },
  references: { type: 'reference[]' },
  object: { type: 'object' },
  array: { type: 'array' },
  json: { type: 'json' },
  custom: { type: 'custom' },
} as const satisfies Record<string, FieldDefinition>;

/** The usual link of a child record to its company. */
const BELONGS_TO_COMPANY: CompanyReference = {
  field: 'companyId',
  many: false,
  nameField: 'companyName',
  onCreate: 'required',
  dependent: true,
};

function oneOf(values: readonly string[]): FieldDefinition {
  return { type: 'string', values };
}

/** Fields every stored record carries, set by the server alone. */
const SYSTEM_FIELDS: Record<string, FieldDefinition> = {
  _id: f.objectId,
  createdAt: f.date,
  updatedAt: f.date,
  __v: f.integer,
  createdBy: f.object,
  updatedBy: f.object,
};

/** Keyables and custom values, shared by the models of workspace data. */
const KEYABLE_FIELDS: Record<string, FieldDefinition> = {
  externalId: f.string,
  sourceId: f.string,
  custom: f.custom,
};

interface ModelSpec {
  name: RecordModelName;
  path: string;
  fields: Record<string, FieldDefinition>;
  required?: string[];
  requiredOneOf?: string[][];
  computed?: string[];
  derived?: DerivedField[];
  defaults?: JsonObject;
  companyRef?: CompanyReference;
  upsertKeys?: string[];
  operations?: readonly Operation[];
  storage?: ModelDefinition['storage'];
  storedAs?: RecordModelName;
  scope?: RecordScope;
  listLimits?: ListLimits;
  keyables?: boolean;
  leanView?: Omit<LeanView, 'listFilters'>;
}

// Every create shares the defaults, so no caller may change them.
function deepFreeze<T extends JsonValue>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

function defineModel(spec: ModelSpec): ModelDefinition {
  const fields: Record<string, FieldDefinition> = Object.create(null);
  Object.assign(fields, SYSTEM_FIELDS, spec.keyables === false ? {} : KEYABLE_FIELDS);
  Object.assign(fields, spec.fields);

  const companyRef = spec.companyRef;
  const listFilters: Partial<Record<ListFilterParam, string>> = {};
  // Clients send `companyId=` to `/companies` to fetch companies by id.
  if (companyRef !== undefined) listFilters.companyId = companyRef.field;
  else if (spec.name === 'Company') listFilters.companyId = '_id';
  for (const param of ['email', 'externalId', 'sourceId', 'status', 'type'] as const) {
    if (Object.hasOwn(fields, param)) listFilters[param] = param;
  }

  const leanView =
    spec.leanView === undefined
      ? undefined
      : Object.freeze({ ...spec.leanView, listFilters: Object.freeze(listFilters) });

  return Object.freeze({
    name: spec.name,
    path: spec.path,
    storage: spec.storage ?? 'records',
    storedAs: spec.storedAs ?? spec.name,
    ...(spec.scope === undefined ? {} : { scope: Object.freeze({ ...spec.scope }) }),
    fields: Object.freeze(fields),
    required: Object.freeze(spec.required ?? []),
    requiredOneOf: Object.freeze(spec.requiredOneOf ?? []),
    computed: Object.freeze([...Object.keys(SYSTEM_FIELDS), ...(spec.computed ?? [])]),
    derived: Object.freeze(spec.derived ?? []),
    defaults: deepFreeze(structuredClone(spec.defaults ?? {})),
    companyRef: companyRef === undefined ? undefined : Object.freeze({ ...companyRef }),
    externalIdScope: companyRef !== undefined && !companyRef.many ? 'company' : 'workspace',
    upsertKeys: Object.freeze(spec.upsertKeys ?? ['_id', 'sourceId', 'externalId']),
    operations: Object.freeze(spec.operations ?? ALL_OPERATIONS),
    defaultSort: '_id',
    listLimits: spec.listLimits ?? STANDARD_LIMITS,
    listFilters: Object.freeze(listFilters),
    ...(leanView === undefined ? {} : { leanView }),
  });
}

const company = defineModel({
  name: 'Company',
  path: 'companies',
  required: ['name'],
  fields: {
    name: f.string,
    owner: f.objectId,
    coOwner: f.objectId,
    phase: f.string,
    status: oneOf(COMPANY_STATUSES),
    domains: f.strings,
    slug: f.string,
    tags: f.strings,
    description: f.text,
    address: f.string,
    country: f.string,
    city: f.string,
    zip: f.string,
    phonePrimary: f.string,
    web: f.string,
    customerFrom: f.date,
    customerTo: f.date,
    lastRenewal: f.date,
    renewalDate: f.date,
    autoRenews: f.boolean,
    csmScore: f.number,
    hProfile: f.objectId,
    headId: f.reference,
    followers: f.array,
    collaborators: f.array,
    products: f.array,
    documents: f.array,
    links: f.array,
    shareable: f.object,
    // Computed from licenses, end users, activity and the org tree.
    h: f.number,
    hDiff: f.number,
    hDiffDate: f.date,
    csmScoreLog: f.array,
    mrr: f.number,
    arr: f.number,
    mr: f.number,
    mrTotal: f.number,
    mrrTotal: f.number,
    nrr30: f.number,
    nrrTotal: f.number,
    renewalDaysFromNow: f.number,
    renewalMrr: f.number,
    renewalArr: f.number,
    nps: f.number,
    lastActive: f.date,
    lastTouch: f.date,
    lastTouchType: f.string,
    lastTouchByType: f.object,
    lastActivities: f.array,
    lastPerformedTriggers: f.array,
    phaseSince: f.date,
    sunits: f.object,
    usage: f.object,
    features: f.object,
    alerts: f.array,
    sales: f.array,
    licenses: f.array,
    createDate: f.date,
    lastUpdated: f.date,
    orgRootId: f.objectId,
    orgPath: f.json,
    orgLevel: f.number,
    orgUnits: f.json,
    orgMrr: f.number,
    orgArr: f.number,
    orgMrrTotal: f.number,
    orgArrTotal: f.number,
    orgHealthTotal: f.number,
    orgCount: f.number,
    orgPathCount: f.number,
  },
  computed: [
    'h',
    'hDiff',
    'hDiffDate',
    'csmScoreLog',
    'mrr',
    'arr',
    'mr',
    'mrTotal',
    'mrrTotal',
    'nrr30',
    'nrrTotal',
    'renewalDaysFromNow',
    'renewalMrr',
    'renewalArr',
    'nps',
    'lastActive',
    'lastTouch',
    'lastTouchType',
    'lastTouchByType',
    'lastActivities',
    'lastPerformedTriggers',
    'phaseSince',
    'sunits',
    'usage',
    'features',
    'alerts',
    'sales',
    'licenses',
    'createDate',
    'lastUpdated',
    'orgRootId',
    'orgPath',
    'orgLevel',
    'orgUnits',
    'orgMrr',
    'orgArr',
    'orgMrrTotal',
    'orgArrTotal',
    'orgHealthTotal',
    'orgCount',
    'orgPathCount',
  ],
  defaults: { status: 'prospect', domains: [], tags: [], custom: {} },
  leanView: {
    path: 'leancompanies',
    fields: ['_id', 'name', 'externalId', 'sourceId', 'slug'],
    operations: ['list'],
    listLimits: LEAN_LIMITS,
  },
});

const endUser = defineModel({
  name: 'EndUser',
  path: 'endusers',
  required: ['email'],
  companyRef: {
    field: 'companyId',
    many: false,
    nameField: 'companyName',
    // An end user without a company is refused on create: it needs one to exist.
    onCreate: 'matchedByEmail',
    dependent: true,
  },
  fields: {
    email: f.email,
    firstName: f.string,
    lastName: f.string,
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    position: f.string,
    phone: f.string,
    tags: f.strings,
    featured: f.boolean,
    primary: f.boolean,
    archived: f.boolean,
    otherEmails: f.strings,
    personas: f.array,
    npsUnsubscribed: f.boolean,
    sharedNotificationsPrefs: f.object,
    beatTrend: f.number,
    beats: f.number,
    beatsTotal: f.number,
    convs14: f.number,
    convsTotal: f.number,
    experience: f.number,
    createDate: f.date,
    relatedEndusers: f.array,
    emailMd5: f.string,
    lastActive: f.date,
    lastTouch: f.date,
    lastTouchByType: f.object,
    lastActivities: f.array,
    nps: f.number,
    npsComment: f.string,
    npsDate: f.date,
    npsSent: f.date,
    usage: f.object,
    relevance: f.number,
  },
  computed: [
    'companyName',
    'beatTrend',
    'beats',
    'beatsTotal',
    'convs14',
    'convsTotal',
    'experience',
    'createDate',
    'relatedEndusers',
    'emailMd5',
    'lastActive',
    'lastTouch',
    'lastTouchByType',
    'lastActivities',
    'nps',
    'npsComment',
    'npsDate',
    'npsSent',
    'usage',
    'relevance',
  ],
  derived: [{ field: 'name', from: ['firstName', 'lastName'] }],
  defaults: { archived: false, tags: [], custom: {} },
  upsertKeys: ['_id', 'sourceId', 'externalId', 'email'],
});

/** What a conversation of type `ticket` carries beyond other conversations. */
const TICKET_FIELDS: Record<string, FieldDefinition> = {
  companyExternalId: f.string,
  email: f.email,
  domains: f.strings,
  source: f.string,
  title: f.string,
  url: f.string,
  severity: f.string,
  priority: f.string,
  product: f.string,
  status: f.string,
  timeSpent: f.number,
};

const conversation = defineModel({
  name: 'Conversation',
  path: 'conversations',
  required: ['companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    companyId: f.reference,
    companyName: f.string,
    type: f.string,
    subject: f.string,
    description: f.text,
    snippet: f.text,
    date: f.date,
    outDate: f.date,
    ownerId: f.objectId,
    users: f.array,
    endusers: f.array,
    userIds: f.objectIds,
    sender: f.array,
    activityTags: f.strings,
    tags: f.strings,
    emailTemplateIds: f.strings,
    starred: f.boolean,
    pinned: f.boolean,
    archived: f.boolean,
    isOpen: f.boolean,
    isSeen: f.boolean,
    hasAttachments: f.boolean,
    hasMore: f.boolean,
    isCustomType: f.boolean,
    waitsToBeFiltered: f.boolean,
    timeBucket: f.array,
    assigneeName: f.string,
    history: f.array,
    ...TICKET_FIELDS,
    numberOfParts: f.integer,
    numberOfRelevantParts: f.integer,
    createDate: f.date,
  },
  computed: [
    'companyName',
    'assigneeName',
    'history',
    'numberOfParts',
    'numberOfRelevantParts',
    'createDate',
  ],
});

const license = defineModel({
  name: 'License',
  path: 'licenses',
  required: ['_currency', 'companyId', 'fromDate'],
  requiredOneOf: [['mrr', 'value']],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    companyId: f.reference,
    companyName: f.string,
    _currency: f.string,
    product: f.string,
    fromDate: f.date,
    toDate: f.date,
    toDateIncluded: f.boolean,
    fixedPeriod: f.boolean,
    mrr: f.number,
    value: f.number,
    renewalStatus: oneOf(['ongoing', 'renewed', 'lost']),
    renewalDate: f.date,
    renewalMrr: f.number,
    autoRenews: f.boolean,
    renewalPeriod: f.integer,
    renewalUnit: f.string,
    noticePeriod: f.integer,
    noticeUnit: f.string,
    invoiceCycle: f.string,
    invoiceCycleInterval: f.integer,
    invoiceMuted: f.boolean,
    parent: f.string,
    arr: f.number,
    renewalArr: f.number,
    renewalDaysFromNow: f.integer,
    isOverdue: f.boolean,
    length: f.number,
    invoicesGenerated: f.boolean,
    fcNewMrr: f.number,
    fcNewArr: f.number,
    fcNewMrrOptimistic: f.number,
    fcNewArrOptimistic: f.number,
    fcNewMrrPessimistic: f.number,
    fcNewArrPessimistic: f.number,
  },
  computed: [
    'companyName',
    'arr',
    'renewalArr',
    'renewalDaysFromNow',
    'isOverdue',
    'length',
    'invoicesGenerated',
    'fcNewMrr',
    'fcNewArr',
    'fcNewMrrOptimistic',
    'fcNewArrOptimistic',
    'fcNewMrrPessimistic',
    'fcNewArrPessimistic',
  ],
});

const invoice = defineModel({
  name: 'Invoice',
  path: 'invoices',
  required: ['cId', 'currency'],
  companyRef: {
    field: 'cId',
    many: false,
    nameField: 'cName',
    onCreate: 'required',
    dependent: true,
  },
  fields: {
    cId: f.reference,
    cName: f.string,
    currency: f.string,
    product: f.string,
    title: f.string,
    status: f.string,
    // Planhat keeps invoice dates as day numbers, unlike every other model.
    date: f.day,
    invoiceDate: f.day,
    dueDate: f.day,
    paidDate: f.day,
    // Sources disagree on whether invoice numbers are numbers or strings.
    invoiceNo: f.json,
    // Invoices read from Planhat also carry the external id as `extId`.
    extId: f.string,
    amountTotal: f.number,
    amountDue: f.number,
    amountPaid: f.number,
    lineItems: f.array,
    licenseIds: f.objectIds,
    emails: f.strings,
    addressCountry: f.string,
    invoiceCycle: f.string,
    lastUpdated: f.date,
  },
  computed: ['cName', 'lastUpdated'],
});

const issue = defineModel({
  name: 'Issue',
  path: 'issues',
  required: ['title', 'sourceId', 'archived'],
  companyRef: { field: 'companyIds', many: true, onCreate: 'optional', dependent: false },
  fields: {
    title: f.string,
    description: f.text,
    status: f.string,
    archived: f.boolean,
    companyIds: f.references,
    enduserIds: f.objectIds,
    conversationIds: f.objectIds,
    companyMatchingValue: f.strings,
    companies: f.array,
    endusers: f.array,
    mrrCombined: f.number,
    arrCombined: f.number,
  },
  computed: ['companies', 'endusers', 'mrrCombined', 'arrCombined'],
});

const task = defineModel({
  name: 'Task',
  path: 'tasks',
  required: ['mainType', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  listLimits: LARGE_LIMITS,
  fields: {
    mainType: oneOf(['task', 'event']),
    companyId: f.reference,
    companyName: f.string,
    action: f.string,
    description: f.text,
    snippet: f.text,
    type: f.string,
    status: f.string,
    startTime: f.date,
    endTime: f.date,
    dateDone: f.date,
    noSpecificTime: f.boolean,
    repeat: f.string,
    repeatDays: f.integer,
    ownerId: f.objectId,
    ownerName: f.string,
    doneBy: f.objectId,
    shared: f.boolean,
    isArchived: f.boolean,
    activityTags: f.strings,
    checklist: f.array,
    endusers: f.array,
    users: f.array,
    overdueNotified: f.boolean,
  },
  computed: ['companyName', 'ownerName', 'overdueNotified'],
});

const opportunity = defineModel({
  name: 'Opportunity',
  path: 'opportunities',
  required: ['companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    companyId: f.reference,
    companyName: f.string,
    title: f.string,
    description: f.text,
    status: f.string,
    salesStage: f.string,
    dealDate: f.date,
    landingDate: f.date,
    closeDate: f.date,
    _currency: f.string,
    ownerId: f.objectId,
    mrr: f.number,
    arr: f.number,
    nrr: f.number,
    value: f.number,
    probability: f.number,
    contractLength: f.integer,
    stageHistory: f.array,
  },
  computed: ['companyName', 'stageHistory'],
});

const project = defineModel({
  name: 'Project',
  path: 'projects',
  required: ['name', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    description: f.text,
    status: f.string,
    ownerId: f.objectId,
    startDate: f.date,
    endDate: f.date,
    usage: f.object,
  },
  computed: ['companyName', 'usage'],
});

const asset = defineModel({
  name: 'Asset',
  path: 'assets',
  required: ['name', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    description: f.text,
    usage: f.object,
  },
  computed: ['companyName', 'usage'],
});

const campaign = defineModel({
  name: 'Campaign',
  path: 'campaigns',
  required: ['name', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    description: f.text,
    type: f.string,
    status: f.string,
    startDate: f.date,
    endDate: f.date,
  },
  computed: ['companyName'],
});

const churn = defineModel({
  name: 'Churn',
  path: 'churn',
  required: ['companyId', 'value'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    companyId: f.reference,
    companyName: f.string,
    value: f.number,
    _currency: f.string,
    date: f.date,
    reasons: f.strings,
    comment: f.text,
    products: f.strings,
    licenseId: f.objectId,
  },
  computed: ['companyName'],
});

const nps = defineModel({
  name: 'Nps',
  path: 'nps',
  required: ['email', 'score'],
  companyRef: { field: 'cId', many: false, onCreate: 'matchedByEmail', dependent: false },
  listLimits: LARGE_LIMITS,
  fields: {
    email: f.email,
    score: { type: 'number', integer: true, min: 0, max: 10 },
    comment: f.text,
    campaignId: f.reference,
    cId: f.reference,
    euId: f.objectId,
    source: f.string,
    dateSent: f.date,
    dateAnswered: f.date,
  },
});

const objective = defineModel({
  name: 'Objective',
  path: 'objectives',
  required: ['name', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    description: f.text,
    status: f.string,
    health: f.number,
  },
  computed: ['companyName'],
});

const sale = defineModel({
  name: 'Sale',
  path: 'sales',
  required: ['_currency', 'companyId', 'salesDate', 'value'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    companyId: f.reference,
    companyName: f.string,
    _currency: f.string,
    salesDate: f.date,
    value: f.number,
    product: f.string,
  },
  computed: ['companyName'],
});

const workspace = defineModel({
  name: 'Workspace',
  path: 'workspaces',
  required: ['name', 'companyId'],
  companyRef: BELONGS_TO_COMPANY,
  fields: {
    name: f.string,
    companyId: f.reference,
    companyName: f.string,
    description: f.text,
  },
  computed: ['companyName'],
});

const user = defineModel({
  name: 'User',
  path: 'users',
  storage: 'teamMembers',
  operations: ['read', 'list', 'export'],
  listLimits: LARGE_LIMITS,
  required: ['email', 'nickName', 'firstName', 'lastName'],
  upsertKeys: [],
  fields: {
    email: f.email,
    nickName: f.string,
    firstName: f.string,
    lastName: f.string,
    roles: f.objectIds,
    inactive: f.boolean,
    isHidden: f.boolean,
    permissions: f.array,
    managers: f.objectIds,
    teams: f.array,
    tzOffset: f.number,
    image: f.object,
    createDate: f.date,
  },
  computed: ['permissions', 'createDate'],
});

const customField = defineModel({
  name: 'CustomField',
  path: 'customfields',
  operations: ['create', 'read', 'update', 'delete', 'list', 'export'],
  required: ['name', 'type', 'parent', 'isHidden'],
  keyables: false,
  upsertKeys: [],
  fields: {
    name: f.string,
    type: oneOf(CUSTOM_FIELD_TYPES),
    parent: f.string,
    description: f.string,
    isHidden: f.boolean,
    isFeatured: f.boolean,
    isShared: f.boolean,
    isLocked: f.boolean,
    isMandatory: f.boolean,
    isFormula: f.boolean,
    formula: f.text,
    formulaRefs: f.array,
    treatUndefinedAsZero: f.boolean,
    listValues: f.strings,
    filter: f.array,
    numberFormat: f.string,
  },
});

const ticket = defineModel({
  name: 'Ticket',
  path: 'tickets',
  // Single tickets are created and edited as conversations of type `ticket`.
  operations: ['bulkUpsert', 'list', 'delete', 'export'],
  storedAs: 'Conversation',
  scope: { field: 'type', value: 'ticket' },
  listLimits: LARGE_LIMITS,
  // Planhat silently drops bulk items without an email; the route may too.
  required: ['companyId', 'sourceId', 'email'],
  companyRef: BELONGS_TO_COMPANY,
  upsertKeys: ['_id', 'sourceId'],
  fields: {
    companyId: f.reference,
    companyName: f.string,
    type: oneOf(['ticket']),
    description: f.text,
    tags: f.strings,
    history: f.array,
    ...TICKET_FIELDS,
  },
  defaults: { type: 'ticket' },
  computed: ['companyName'],
});

/** Every record model, in the order of Planhat's model list. */
export const MODEL_DEFINITIONS: readonly ModelDefinition[] = Object.freeze([
  company,
  endUser,
  conversation,
  license,
  invoice,
  issue,
  task,
  opportunity,
  project,
  asset,
  campaign,
  churn,
  nps,
  objective,
  sale,
  workspace,
  user,
  customField,
  ticket,
]);

export const RECORD_MODEL_NAMES: readonly RecordModelName[] = Object.freeze(
  MODEL_DEFINITIONS.map((model) => model.name),
);

const BY_PATH = new Map(MODEL_DEFINITIONS.map((model) => [model.path, model]));
const BY_NAME = new Map(MODEL_DEFINITIONS.map((model) => [model.name, model]));

/** The model at `/{path}`; undefined for `leancompanies` and unknown paths. */
export function findModelByPath(path: string): ModelDefinition | undefined {
  return BY_PATH.get(path);
}

export function getModel(name: RecordModelName): ModelDefinition {
  const model = BY_NAME.get(name);
  if (model === undefined) throw new Error(`No record model named ${name}`);
  return model;
}

export function isRecordModelName(value: string): value is RecordModelName {
  return (RECORD_MODEL_NAMES as readonly string[]).includes(value);
}

/** A field's definition; safe for any name, even `__proto__`. */
export function getField(model: ModelDefinition, name: string): FieldDefinition | undefined {
  return Object.hasOwn(model.fields, name) ? model.fields[name] : undefined;
}

export function isComputed(model: ModelDefinition, field: string): boolean {
  return model.computed.includes(field);
}

export function allows(model: ModelDefinition, operation: Operation): boolean {
  return model.operations.includes(operation);
}
