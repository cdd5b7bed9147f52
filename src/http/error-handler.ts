import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, ERRORS, type ErrorCode } from '../shared/errors.js';

/** The one error envelope. `error` is a stable code; `message` is for people. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  field?: string;
  permission?: string;
  requestId: string;
  details?: Record<string, unknown>;
}

const FASTIFY_CODES: Partial<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: 'internal',
  FST_ERR_CTP_EMPTY_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_BAD_URL: 'bad_request',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

/** Turns any thrown value into the envelope; details of unexpected errors stay in the log. */
export function toErrorBody(
  error: unknown,
  requestId: string,
): { status: number; body: ErrorBody } {
  if (error instanceof AppError) {
    return {
      status: error.status,
      body: {
        error: error.code,
        message: error.message,
        ...(error.field !== undefined ? { field: error.field } : {}),
        ...(error.permission !== undefined ? { permission: error.permission } : {}),
        ...(error.details !== undefined ? { details: error.details } : {}),
        requestId,
      },
    };
  }

  const fastifyError = error as Partial<FastifyError>;
  if (Array.isArray(fastifyError.validation)) {
    const first = fastifyError.validation[0];
    const part = fastifyError.validationContext ?? 'body';
    const field = validationField(first);
    const reason = first?.message ?? 'is invalid';
    const message = field === '' ? `${part} ${reason}` : `${field} ${reason}`;
    return {
      status: 400,
      body: { error: 'validation_failed', message, ...(field !== '' ? { field } : {}), requestId },
    };
  }

  if (error instanceof SyntaxError && 'statusCode' in error) {
    return envelope('invalid_json', requestId, 'The body is not valid JSON');
  }
  const code = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
  if (code !== undefined) return envelope(code, requestId);
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = (Object.keys(ERRORS) as ErrorCode[]).find((key) => ERRORS[key].status === status);
    return envelope(known ?? 'bad_request', requestId);
  }
  // The driver's message may name hosts, tables or SQL; it stays in the log.
  if (isDatabaseUnavailable(error)) return envelope('database_unavailable', requestId);
  return envelope('internal', requestId);
}

/** Seconds a client is told to wait after a 503 that did not say otherwise. */
export const RETRY_AFTER_SECONDS = 2;

function envelope(code: ErrorCode, requestId: string, message?: string) {
  return {
    status: ERRORS[code].status,
    body: { error: code, message: message ?? ERRORS[code].message, requestId },
  };
}

interface ValidationIssue {
  instancePath?: string;
  params?: Record<string, unknown>;
}

function validationField(issue: ValidationIssue | undefined): string {
  if (issue === undefined) return '';
  const path = (issue.instancePath ?? '')
    .split('/')
    .filter((segment) => segment !== '')
    .join('.');
  const params = issue.params ?? {};
  const extra = params.requiredProperties ?? params.missingProperty ?? params.additionalProperties;
  const named = Array.isArray(extra) ? extra[0] : extra;
  if (typeof named === 'string') return path === '' ? named : `${path}.${named}`;
  return path;
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { status, body } = toErrorBody(error, request.id);
    request.errorCode = body.error;
    if (status === 503) {
      // A refusal the app chose (overload, a busy semaphore) is told by the request line;
      // one caused by the database keeps the driver's details here.
      if (!(error instanceof AppError)) request.log.warn({ err: error }, 'request refused');
    } else if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
    }
    if (status === 503 && !reply.hasHeader('retry-after')) {
      reply.header('retry-after', RETRY_AFTER_SECONDS);
    }
    // Refused before its body was read: the rest of the body would sit on the connection,
    // so end it rather than keep a half-read request alive.
    if (body.error === 'unsupported_media_type' || body.error === 'payload_too_large') {
      reply.header('connection', 'close');
    }
    if (status === 401 && reply.getHeader('www-authenticate') === undefined) {
      reply.header('www-authenticate', authenticateChallenge(body.error));
    }
    return reply.code(status).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    request.errorCode = 'route_not_found';
    return reply.code(404).send({
      error: 'route_not_found',
      message: `No route for ${request.method} ${request.url.split('?')[0] ?? ''}`,
      requestId: request.id,
    });
  });
}

function authenticateChallenge(code: ErrorCode): string {
  if (code.startsWith('token_') || code === 'app_disabled') {
    const error = code === 'token_missing' ? '' : ', error="invalid_token"';
    return `Bearer realm="app-center"${error}`;
  }
  return 'Session realm="app-center"';
}
