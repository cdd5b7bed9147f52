/**
 * The one catalogue of errors App Center answers with. Codes are stable: clients, tests and
 * the request log match on them. Services throw `AppError`; only the HTTP layer maps the
 * status onto a response.
 */
export const ERRORS = {
  bad_request: { status: 400, message: 'The request is malformed' },
  invalid_json: { status: 400, message: 'The body is not valid JSON' },
  validation_failed: { status: 400, message: 'A field has an invalid value' },
  unsupported_media_type: { status: 415, message: 'The content type is not supported' },
  payload_too_large: { status: 413, message: 'The body is too large' },
  unauthenticated: { status: 401, message: 'Authentication is required' },
  invalid_credentials: { status: 401, message: 'The email or password is wrong' },
  session_expired: { status: 401, message: 'The session has ended; log in again' },
  token_missing: { status: 401, message: 'An API Access Token is required' },
  token_malformed: { status: 401, message: 'The API Access Token is malformed' },
  token_invalid: { status: 401, message: 'The API Access Token is not valid' },
  token_expired: { status: 401, message: 'The API Access Token has expired' },
  token_revoked: { status: 401, message: 'The API Access Token was deleted' },
  token_rotated: { status: 401, message: 'The API Access Token was rotated out' },
  app_disabled: { status: 401, message: 'The private app is disabled' },
  tenant_token_invalid: { status: 404, message: 'No workspace has this Tenant Token' },
  forbidden: { status: 403, message: 'The principal lacks a permission' },
  csrf_failed: { status: 403, message: 'The request failed the CSRF check' },
  ip_not_allowed: { status: 403, message: 'The client IP is not in the app allowlist' },
  not_found: { status: 404, message: 'Not found' },
  route_not_found: { status: 404, message: 'No route matches the request' },
  method_not_allowed: { status: 405, message: 'The method is not allowed' },
  conflict: { status: 409, message: 'The request conflicts with existing data' },
  rate_limited: { status: 429, message: 'Too many requests' },
  request_timeout: { status: 408, message: 'The request took too long' },
  unavailable: { status: 503, message: 'The service is temporarily unavailable' },
  database_unavailable: { status: 503, message: 'The database is not reachable; retry shortly' },
  overloaded: { status: 503, message: 'The server is overloaded; retry shortly' },
  internal: { status: 500, message: 'An unexpected error occurred' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface AppErrorOptions {
  message?: string;
  /** The request field at fault, such as `email` or `custom.score`. */
  field?: string;
  /** A permission the principal lacks, such as `Company.update`. */
  permission?: string;
  /** Extra details safe to return to the caller. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  override name = 'AppError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly permission: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, options: AppErrorOptions = {}) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause });
    this.code = code;
    this.status = ERRORS[code].status;
    this.field = options.field;
    this.permission = options.permission;
    this.details = options.details;
  }
}

export function notFound(what: string): AppError {
  return new AppError('not_found', { message: `${what} not found` });
}

export function invalidField(field: string, message: string): AppError {
  return new AppError('validation_failed', { field, message: `${field} ${message}` });
}

export function missingPermission(permission: string): AppError {
  return new AppError('forbidden', { permission, message: `requires ${permission}` });
}
