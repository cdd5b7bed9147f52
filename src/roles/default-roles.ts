import {
  RECORD_MODELS,
  allActions,
  fullPermissions,
  type ActionSet,
  type PermissionSet,
} from '../permissions/permission-set.js';

export interface RoleTemplate {
  name: string;
  description: string;
  permissions: PermissionSet;
}

const VIEW_ONLY: ActionSet = { ...allActions(false), view: true };
const EDIT: ActionSet = { ...allActions(false), view: true, create: true, update: true };
const EDIT_AND_REMOVE: ActionSet = { ...EDIT, remove: true };

function onRecords(actions: ActionSet): PermissionSet['models'] {
  return Object.fromEntries(RECORD_MODELS.map((model) => [model, { ...actions }]));
}

/** The roles every new workspace starts with. Administrator can do everything. */
export function defaultRoles(): RoleTemplate[] {
  return [
    {
      name: 'Administrator',
      description: 'Everything, including team members, roles, settings and private apps',
      permissions: fullPermissions(),
    },
    {
      name: 'Manager',
      description: 'All records, with export; sees the team, roles, settings and private apps',
      permissions: {
        models: {
          ...onRecords(allActions()),
          User: { ...VIEW_ONLY },
          Role: { ...VIEW_ONLY },
          Settings: { ...VIEW_ONLY },
          ServiceAccount: { ...VIEW_ONLY },
        },
        fields: {},
      },
    },
    {
      name: 'CSM',
      description: 'Works on customer records: view, create and update',
      permissions: {
        models: { ...onRecords(EDIT), User: { ...VIEW_ONLY } },
        fields: {},
      },
    },
    {
      name: 'Developer',
      description: 'Builds integrations: manages private apps and reads the Tenant Token',
      permissions: {
        models: {
          ...onRecords(EDIT_AND_REMOVE),
          User: { ...VIEW_ONLY },
          Settings: { ...VIEW_ONLY },
          ServiceAccount: allActions(),
        },
        fields: {},
      },
    },
  ];
}
