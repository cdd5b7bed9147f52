import type { PermissionSet } from '../permissions/permission-set.js';

/** Who did something, as audit events and records' createdBy/updatedBy name them. */
export interface Actor {
  type: 'member' | 'app' | 'system';
  id: string;
  name: string;
}

interface PrincipalBase {
  workspaceId: string;
  actor: Actor;
  permissions: PermissionSet;
}

export interface MemberPrincipal extends PrincipalBase {
  kind: 'member';
  sessionIdHash: string;
}

export interface AppPrincipal extends PrincipalBase {
  kind: 'app';
  appId: string;
  tokenId: string;
  tokenHint: string;
}

/** The command line and start-up seeding act as the workspace itself. */
export interface SystemPrincipal extends PrincipalBase {
  kind: 'system';
}

export type Principal = MemberPrincipal | AppPrincipal | SystemPrincipal;

export function systemActor(): Actor {
  return { type: 'system', id: 'system', name: 'System' };
}
