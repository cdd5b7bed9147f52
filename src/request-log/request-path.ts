/**
 * The path a log row keeps: the URL as sent, except that secrets are replaced. In the query
 * string, the value of every parameter whose name looks secret, and every UUID-shaped value
 * (a Tenant Token is a UUID); anywhere, whatever is shaped like an API Access Token, even
 * percent-encoded. Route patterns are kept separately.
 */
export const REDACTED = '[redacted]';

const SECRET_NAME =
  /token|secret|passw|pwd|auth|key|session|cookie|signature|^sig$|credential|bearer|jwt/i;
const ACCESS_TOKEN = /apc_[0-9A-Za-z]{20,}/;
const ACCESS_TOKENS = new RegExp(ACCESS_TOKEN.source, 'g');
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const MAX_PATH_LENGTH = 2_000;

export function redactedPath(url: string): string {
  const clipped = url.length > MAX_PATH_LENGTH ? url.slice(0, MAX_PATH_LENGTH) : url;
  const question = clipped.indexOf('?');
  const path = redactTokens(question < 0 ? clipped : clipped.slice(0, question));
  if (question < 0) return path;

  const query = clipped
    .slice(question + 1)
    .split('&')
    .map(redactParameter)
    .join('&');
  return `${path}?${query}`;
}

function redactParameter(pair: string): string {
  const equals = pair.indexOf('=');
  const name = equals < 0 ? pair : pair.slice(0, equals);
  const value = equals < 0 ? '' : decodeLoosely(pair.slice(equals + 1));
  const decodedName = decodeLoosely(name);
  if (equals < 0) return isSecretValue(decodedName) ? REDACTED : name;
  if (SECRET_NAME.test(decodedName) || isSecretValue(value)) return `${name}=${REDACTED}`;
  return isSecretValue(decodedName) ? `${REDACTED}=${REDACTED}` : pair;
}

function isSecretValue(text: string): boolean {
  return ACCESS_TOKEN.test(text) || UUID.test(text);
}

/** Replaces anything shaped like an API Access Token, plain or percent-encoded. */
export function redactTokens(text: string): string {
  if (ACCESS_TOKEN.test(text)) return text.replace(ACCESS_TOKENS, REDACTED);
  const decoded = decodeLoosely(text);
  return ACCESS_TOKEN.test(decoded) ? decoded.replace(ACCESS_TOKENS, REDACTED) : text;
}

function decodeLoosely(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
