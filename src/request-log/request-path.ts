/**
 * The path a log row keeps: the URL as sent, with the value of every query parameter whose
 * name looks secret replaced, and anything shaped like an API Access Token replaced
 * wherever it appears, even percent-encoded. Route patterns are kept separately.
 */
export const REDACTED = '[redacted]';

const SECRET_NAME =
  /token|secret|passw|pwd|auth|key|session|cookie|signature|^sig$|credential|bearer|jwt/i;
const ACCESS_TOKEN = /apc_[0-9A-Za-z]{20,}/;
const ACCESS_TOKENS = new RegExp(ACCESS_TOKEN.source, 'g');
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
  if (equals < 0) return redactTokens(pair);
  const name = pair.slice(0, equals);
  if (SECRET_NAME.test(decodeLoosely(name))) return `${name}=${REDACTED}`;
  const value = pair.slice(equals + 1);
  return ACCESS_TOKEN.test(decodeLoosely(value)) ? `${name}=${REDACTED}` : pair;
}

function redactTokens(text: string): string {
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
