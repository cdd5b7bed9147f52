import {
  ACTIONS,
  RECORD_MODELS,
  isModel,
  type Action,
  type Model,
} from '../permissions/permission-set.js';

/** What a route may tell the request log beyond its route config. */
export interface RequestLogExtras {
  /** The permission model touched, such as `Company`, when the operation does not say. */
  model?: string;
  /** The permission actions the request needed, when the operation alone does not say. */
  permissionAction?: Action | readonly Action[];
  /** Bulk calls: how many records were created, updated and refused. */
  counts?: { created: number; updated: number; errors: number };
  /** Body fields the request sent that the server ignored. */
  ignoredFields?: readonly string[];
}

export interface PermissionUse {
  model: Model | null;
  actions: readonly Action[];
}

const NO_USE: PermissionUse = { model: null, actions: [] };

const RECORD_MODEL_BY_KEY = new Map<string, Model>(
  RECORD_MODELS.map((model) => [model.toLowerCase(), model]),
);

/** Operation prefixes of the management API, and the model their permission guards. */
const INTERNAL_PREFIXES: Record<string, Model> = {
  privateApp: 'ServiceAccount',
  member: 'User',
  role: 'Role',
  settings: 'Settings',
};

const READ_VERBS = new Set(['list', 'get', 'read', 'summary']);

const VERB_ACTIONS: Record<string, readonly Action[]> = {
  list: ['view'],
  get: ['view'],
  read: ['view'],
  summary: ['view'],
  create: ['create'],
  update: ['update'],
  delete: ['remove'],
  remove: ['remove'],
  export: ['export'],
  bulkUpsert: ['create', 'update'],
};

/**
 * The permission model and actions a request used, from its operation name
 * (`record.company.list`, `privateApp.token.create`) and whatever the route added.
 * Unknown operations use nothing; suggested permissions then ignore them.
 */
export function permissionUse(operation: string, extras?: RequestLogExtras): PermissionUse {
  const derived = derivedUse(operation, extras?.counts);
  const model = extras?.model !== undefined && isModel(extras.model) ? extras.model : derived.model;
  const stated = extras?.permissionAction;
  if (stated === undefined) return model === derived.model ? derived : { ...derived, model };
  const actions = (typeof stated === 'string' ? [stated] : stated).filter(isAction);
  return { model, actions };
}

function derivedUse(operation: string, counts: RequestLogExtras['counts']): PermissionUse {
  const parts = operation.split('.');
  const [head = '', second = ''] = parts;
  const verb = parts[parts.length - 1] ?? '';

  if (head === 'record') {
    // A model the catalogue does not name may still come from the route's extras.
    const model = RECORD_MODEL_BY_KEY.get(second.toLowerCase()) ?? null;
    if (verb === 'bulkUpsert' && counts !== undefined) {
      const actions: Action[] = [];
      if (counts.created > 0) actions.push('create');
      if (counts.updated > 0) actions.push('update');
      return { model, actions };
    }
    return { model, actions: VERB_ACTIONS[verb] ?? [] };
  }

  const model = INTERNAL_PREFIXES[head];
  if (model === undefined) return NO_USE;
  // Sub-resources (an app's tokens, logs, audit trail) are read with view and changed
  // with update; exporting them takes export as well.
  if (parts.length > 2) {
    if (verb === 'export') return { model, actions: ['view', 'export'] };
    return { model, actions: READ_VERBS.has(verb) ? ['view'] : ['update'] };
  }
  return { model, actions: VERB_ACTIONS[verb] ?? [] };
}

function isAction(value: string): value is Action {
  return (ACTIONS as readonly string[]).includes(value);
}
