/** The error envelope every App Center endpoint answers with. */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
  permission?: string;
  requestId?: string;
}

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly body: ErrorBody;

  constructor(status: number, body: ErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }

  get code(): string {
    return this.body.error;
  }
}

const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD']);

let csrfToken: string | undefined;
let sessionLost: (() => void) | undefined;

/** Writes carry the session's CSRF token, which login and `/auth/me` hand out. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when the server says the session is gone, so the app can show the login page. */
export function onSessionLost(handler: (() => void) | undefined): void {
  sessionLost = handler;
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (!SAFE_METHODS.has(method) && csrfToken !== undefined) headers[CSRF_HEADER] = csrfToken;

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, { error: 'network', message: 'App Center could not be reached' });
  }

  if (response.status === 204) return undefined as T;
  const data = parseJson(await response.text());
  if (response.ok) return data as T;

  const error = new ApiError(response.status, errorBody(data, response.status));
  if (response.status === 401 && !path.startsWith('/auth/')) sessionLost?.();
  throw error;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  delete: (path: string) => request<void>('DELETE', path),
};

/** A query string from the defined, non-empty values only. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** What to tell a person about a failed call. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : 'Something went wrong';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorBody(data: unknown, status: number): ErrorBody {
  if (typeof data === 'object' && data !== null && 'message' in data && 'error' in data) {
    const { error, message } = data as { error: unknown; message: unknown };
    if (typeof error === 'string' && typeof message === 'string') return data as ErrorBody;
  }
  return { error: `http_${status}`, message: `App Center answered with status ${status}` };
}
