const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dayOnly = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const dayAndTime = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

export function formatDateTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '';
  return dateTime.format(new Date(iso));
}

/** "5 minutes ago", or "in 3 days" for dates ahead. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return '';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return Math.abs(seconds) < 45 ? 'just now' : relative.format(Math.round(seconds / 60), 'minute');
}

/** A short label for a chart axis: just as precise as the span needs. */
export function formatAxis(iso: string, spanMs: number): string {
  const date = new Date(iso);
  const hours = spanMs / 3600_000;
  if (hours <= 6) return timeOnly.format(date);
  return hours <= 72 ? dayAndTime.format(date) : dayOnly.format(date);
}

export function memberName(member: {
  firstName: string;
  lastName: string;
  nickname: string;
  email: string;
}): string {
  const full = `${member.firstName} ${member.lastName}`.trim();
  return full !== '' ? full : member.nickname !== '' ? member.nickname : member.email;
}
