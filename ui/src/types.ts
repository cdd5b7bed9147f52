import type { PermissionSet } from '../../src/permissions/permission-set.js';

export type { PermissionSet };

export interface Member {
  id: string;
  email: string;
  firstName: string;
  lastName: string;
  nickname: string;
  inactive: boolean;
  roleIds: string[];
  createdAt: string;
  updatedAt: string;
}

export interface Session {
  member: Member;
  workspace: { id: string; name: string };
  permissions: PermissionSet;
  csrfToken: string;
}

export interface Actor {
  type: string;
  id: string;
  name: string;
}

export interface Role {
  id: string;
  name: string;
  description: string;
  permissions: PermissionSet;
  builtin: boolean;
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface PrivateApp {
  id: string;
  name: string;
  description: string;
  permissions: PermissionSet;
  enabled: boolean;
  rateLimitPerSecond: number | null;
  ipAllowlist: string[];
  createdAt: string;
  createdBy: Actor;
  updatedAt: string;
  tokenCount: number;
  lastUsedAt: string | null;
}

export interface TokenInfo {
  id: string;
  hint: string;
  label: string;
  createdAt: string;
  createdBy: Actor;
  expiresAt: string | null;
  retiresAt: string | null;
  replacedBy: string | null;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

export interface IssuedToken {
  token: string;
  info: TokenInfo;
  retiring?: TokenInfo;
}

export type CopyFrom =
  { type: 'scratch' } | { type: 'app'; id: string } | { type: 'role'; id: string };

export interface LogItem {
  id: string;
  at: string;
  method: string;
  /** The route pattern, such as `/companies/:id`. */
  route: string;
  path: string;
  status: number;
  durationMs: number;
  tokenId: string;
  tokenHint: string;
  ip: string;
  userAgent: string;
  model: string | null;
  operation: string;
  /** The permissions the request used, such as `Company.view`. */
  actions: string[];
  counts: { created: number; updated: number; errors: number } | null;
  ignoredFields: string[];
  errorCode: string | null;
  errorMessage: string | null;
  missingPermission: string | null;
  requestId: string;
}

export interface LogPage {
  items: LogItem[];
  nextCursor: string | null;
}

export interface LogBucket {
  start: string;
  s2xx: number;
  s4xx: number;
  s5xx: number;
  p50: number | null;
  p95: number | null;
}

export interface LogSummary {
  from: string;
  to: string;
  bucketSeconds: number;
  buckets: LogBucket[];
}

export interface SuggestedPermissions {
  from: string;
  to: string;
  suggested: PermissionSet;
  /** Held by the app, used by no request in the window. */
  unused: string[];
  refused: { permission: string; count: number; lastAt: string }[];
  used: { permission: string; count: number }[];
}

export interface WorkspaceSettings {
  workspace: { id: string; name: string; createdAt: string };
  tenantToken: string;
}
