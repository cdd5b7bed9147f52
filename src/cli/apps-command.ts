import type { Database } from '../db/database.js';
import {
  ACTIONS,
  allActions,
  isModel,
  type Action,
  type PermissionSet,
} from '../permissions/permission-set.js';
import { PrivateAppService, type CopyFrom } from '../private-apps/private-app.service.js';
import { findRoleByName } from '../roles/role.repository.js';
import { parseDuration } from '../shared/duration.js';
import { nowIso } from '../shared/ids.js';
import type { RevocationBus } from '../tokens/revocation-bus.js';
import { TokenService } from '../tokens/token.service.js';
import { findWorkspace } from '../workspaces/workspace.repository.js';
import { systemPrincipal } from '../workspaces/workspace.service.js';
import { parseOptions, required, UsageError, type Output } from './main.js';
import { withCommandLineRevocations } from './revocation.js';

/** `app-center apps ...`: acts on the database directly, as the workspace's system actor. */
export async function runAppsCommand(args: string[], database: Database, io: Output) {
  return withCommandLineRevocations(database, (bus) => appsCommand(args, database, bus, io));
}

async function appsCommand(args: string[], database: Database, bus: RevocationBus, io: Output) {
  const [action, ...rest] = args;
  const { values } = parseOptions(rest, {
    workspace: { type: 'string' },
    app: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    'copy-from': { type: 'string' },
    allow: { type: 'string' },
    json: { type: 'boolean' },
  });
  const principal = await workspacePrincipal(database, required(values, 'workspace'));
  const apps = new PrivateAppService(database.db, bus);

  switch (action) {
    case 'create': {
      const copyFrom = await parseCopyFrom(database, principal.workspaceId, values['copy-from']);
      let app = await apps.create(principal, {
        name: required(values, 'name'),
        ...(values.description === undefined ? {} : { description: values.description }),
        copyFrom,
      });
      if (values.allow !== undefined) {
        const permissions = addGrants(app.permissions, values.allow);
        app = await apps.update(principal, app.id, { permissions });
      }
      print(io, values.json, app, `Created private app ${app.name} (${app.id})`);
      return 0;
    }
    case 'list': {
      const list = await apps.list(principal);
      if (values.json === true) {
        io.out(JSON.stringify(list));
        return 0;
      }
      for (const app of list) {
        const state = app.enabled ? 'enabled ' : 'disabled';
        io.out(`${app.id}  ${state}  ${app.tokenCount} tokens  ${app.name}`);
      }
      return 0;
    }
    case 'enable':
    case 'disable': {
      const app = await apps.update(principal, required(values, 'app'), {
        enabled: action === 'enable',
      });
      io.out(`${app.name} is ${app.enabled ? 'enabled' : 'disabled'}`);
      return 0;
    }
    case 'delete':
      await apps.remove(principal, required(values, 'app'));
      io.out('Deleted');
      return 0;
    default:
      throw new UsageError('apps takes create, list, enable, disable or delete');
  }
}

/** `app-center tokens ...`: prints a new token once, and nowhere else. */
export async function runTokensCommand(args: string[], database: Database, io: Output) {
  return withCommandLineRevocations(database, (bus) => tokensCommand(args, database, bus, io));
}

async function tokensCommand(args: string[], database: Database, bus: RevocationBus, io: Output) {
  const [action, ...rest] = args;
  const { values } = parseOptions(rest, {
    workspace: { type: 'string' },
    app: { type: 'string' },
    token: { type: 'string' },
    label: { type: 'string' },
    'expires-in': { type: 'string' },
    grace: { type: 'string' },
    json: { type: 'boolean' },
  });
  const principal = await workspacePrincipal(database, required(values, 'workspace'));
  const tokens = new TokenService(database.db, bus);
  const appId = required(values, 'app');

  switch (action) {
    case 'create': {
      const expiresIn = values['expires-in'];
      const expiresAt =
        expiresIn === undefined
          ? undefined
          : nowIso(Date.now() + duration(expiresIn, 'expires-in'));
      const issued = await tokens.create(principal, appId, {
        ...(values.label === undefined ? {} : { label: values.label }),
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
      if (values.json === true) {
        io.out(JSON.stringify({ token: issued.token, id: issued.info.id, hint: issued.info.hint }));
      } else {
        io.out(issued.token);
        io.out(`Token ${issued.info.id}: store it now, it will not be shown again.`);
      }
      return 0;
    }
    case 'list': {
      const list = await tokens.list(principal, appId);
      if (values.json === true) {
        io.out(JSON.stringify(list));
        return 0;
      }
      for (const token of list) {
        const used = token.lastUsedAt ?? 'never used';
        io.out(`${token.id}  ${token.hint}  ${token.label || '-'}  ${used}`);
      }
      return 0;
    }
    case 'delete':
      await tokens.remove(principal, appId, required(values, 'token'));
      io.out('Deleted');
      return 0;
    case 'rotate': {
      const graceMs = values.grace === undefined ? 0 : duration(values.grace, 'grace');
      const rotated = await tokens.rotate(
        principal,
        appId,
        required(values, 'token'),
        Math.round(graceMs / 1000),
      );
      if (values.json === true) {
        io.out(
          JSON.stringify({
            token: rotated.token,
            id: rotated.info.id,
            hint: rotated.info.hint,
            retiresAt: rotated.retiring.retiresAt,
          }),
        );
      } else {
        io.out(rotated.token);
        io.out(`Old token works until ${rotated.retiring.retiresAt ?? 'now'}.`);
      }
      return 0;
    }
    default:
      throw new UsageError('tokens takes create, list, delete or rotate');
  }
}

async function workspacePrincipal(database: Database, workspaceId: string) {
  if ((await findWorkspace(database.db, workspaceId)) === undefined) {
    throw new UsageError(`no workspace ${workspaceId}`);
  }
  return systemPrincipal(workspaceId);
}

async function parseCopyFrom(
  database: Database,
  workspaceId: string,
  value: string | undefined,
): Promise<CopyFrom> {
  if (value === undefined || value === 'scratch') return { type: 'scratch' };
  const [kind, ...nameParts] = value.split(':');
  const name = nameParts.join(':');
  if (kind === 'app' && name !== '') return { type: 'app', id: name };
  if (kind === 'role' && name !== '') {
    const role = await findRoleByName(database.db, workspaceId, name);
    if (role === undefined) throw new UsageError(`no role named ${name}`);
    return { type: 'role', id: role.id };
  }
  throw new UsageError('--copy-from takes role:NAME or app:ID');
}

/** Adds `Model:action` grants, such as `Company:view,EndUser:create`, to a set. */
export function addGrants(base: PermissionSet, list: string): PermissionSet {
  const result: PermissionSet = {
    models: structuredClone(base.models),
    fields: structuredClone(base.fields),
  };
  for (const item of list
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [model = '', action = ''] = item.split(':');
    if (!isModel(model)) throw new UsageError(`--allow names an unknown model: ${model}`);
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new UsageError(`--allow names an unknown action: ${action} (${ACTIONS.join(', ')})`);
    }
    const actions = result.models[model] ?? allActions(false);
    actions[action as Action] = true;
    result.models[model] = actions;
  }
  return result;
}

function duration(text: string, flag: string): number {
  const ms = parseDuration(text);
  if (ms === undefined)
    throw new UsageError(`--${flag} takes a duration such as 90s, 15m, 12h or 30d`);
  return ms;
}

function print(io: Output, json: boolean | undefined, value: unknown, line: string) {
  io.out(json === true ? JSON.stringify(value) : line);
}
