import type { Generated } from 'kysely';

/**
 * Table shapes. Times are ISO 8601 UTC strings with milliseconds, booleans are 0/1 and
 * structured values are JSON text, so one set of migrations and queries serves SQLite and
 * PostgreSQL alike.
 */
export interface Schema {
  workspaces: WorkspaceTable;
  members: MemberTable;
  roles: RoleTable;
  member_roles: MemberRoleTable;
  sessions: SessionTable;
  audit_events: AuditEventTable;
  private_apps: PrivateAppTable;
  api_tokens: ApiTokenTable;
  request_logs: RequestLogTable;
  revocations: RevocationTable;
  user_activities: UserActivityTable;
  dimension_data: DimensionDataTable;
  records: RecordTable;
  record_domains: RecordDomainTable;
}

export interface WorkspaceTable {
  id: string;
  name: string;
  tenant_token: string;
  created_at: string;
}

export interface MemberTable {
  id: string;
  workspace_id: string;
  email: string;
  email_key: string;
  first_name: string;
  last_name: string;
  nickname: string;
  password_hash: string;
  inactive: number;
  created_at: string;
  updated_at: string;
}

export interface RoleTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  permissions: string;
  builtin: number;
  created_at: string;
  updated_at: string;
}

export interface MemberRoleTable {
  workspace_id: string;
  member_id: string;
  role_id: string;
}

export interface SessionTable {
  id_hash: string;
  workspace_id: string;
  member_id: string;
  created_at: string;
  expires_at: string;
}

export interface AuditEventTable {
  seq: Generated<number>;
  id: string;
  workspace_id: string;
  at: string;
  actor_type: string;
  actor_id: string;
  actor_name: string;
  action: string;
  target_type: string;
  target_id: string;
  changes: string;
}

export interface PrivateAppTable {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  permissions: string;
  enabled: number;
  rate_limit_per_second: number | null;
  /** JSON array of CIDR ranges; empty allows every address. */
  ip_allowlist: string;
  created_at: string;
  /** JSON Actor. */
  created_by: string;
  updated_at: string;
}

export interface ApiTokenTable {
  id: string;
  workspace_id: string;
  app_id: string;
  token_hash: string;
  hint: string;
  label: string;
  created_at: string;
  /** JSON Actor. */
  created_by: string;
  expires_at: string | null;
  /** Set by a rotation: the old token keeps working until then. */
  retires_at: string | null;
  replaced_by: string | null;
  deleted_at: string | null;
  last_used_at: string | null;
  last_used_ip: string | null;
}

export interface RevocationTable {
  seq: Generated<number>;
  /** A JSON Revocation. */
  payload: string;
  at: string;
}

/** One request made with a known token; `at` is when its response was sent, epoch ms. */
export interface RequestLogTable {
  seq: Generated<number>;
  workspace_id: string;
  app_id: string;
  token_id: string;
  token_hint: string;
  at: number;
  request_id: string;
  method: string;
  route: string;
  /** The path and query string with secret-looking values replaced. */
  path: string;
  status: number;
  duration_ms: number;
  ip: string;
  user_agent: string;
  /** The permission model the route touches, such as `Company`. */
  model: string | null;
  operation: string;
  /** The permission actions the request used, comma-separated, such as `create,update`. */
  action: string | null;
  created_count: number | null;
  updated_count: number | null;
  error_count: number | null;
  /** JSON array of field names the request sent but the server ignored. */
  ignored_fields: string | null;
  error_code: string | null;
  error_message: string | null;
  /** The permission a 403 named, such as `Company.update`. */
  missing_permission: string | null;
}

/** One workspace record: its JSON document plus the keys lookups and upserts match on. */
export interface RecordTable {
  workspace_id: string;
  /** The permission model name, such as `Company`. */
  model: string;
  id: string;
  external_id: string | null;
  source_id: string | null;
  /** The company a child record belongs to; null for companies and multi-company models. */
  company_id: string | null;
  /** Trimmed and lower-cased, for matching; the document keeps the email as sent. */
  email: string | null;
  doc: string;
  created_at: string;
  updated_at: string;
  version: number;
}

/** A company's email domain, lower-cased, for matching end users to companies. */
export interface RecordDomainTable {
  workspace_id: string;
  domain: string;
  company_id: string;
}

/** One user activity; `time` and `received_at` are epoch milliseconds. */
export interface UserActivityTable {
  seq: Generated<number>;
  workspace_id: string;
  time: number;
  received_at: number;
  action: string;
  weight: number;
  count: number;
  email: string | null;
  external_id: string | null;
  company_external_id: string | null;
  name: string | null;
  /** The end user and company the activity was matched to, when they exist. */
  enduser_id: string | null;
  company_id: string | null;
  /** The activity's `info` object as JSON text. */
  info: string | null;
}

/** One custom-metric value; `day` counts days since 1970-01-01 UTC. */
export interface DimensionDataTable {
  seq: Generated<number>;
  workspace_id: string;
  dimension_id: string;
  value: number;
  model: string;
  external_id: string | null;
  /** The Planhat _id of the object the value is about, when known. */
  object_id: string | null;
  company_id: string | null;
  time: number;
  day: number;
  received_at: number;
}
