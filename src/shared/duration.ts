const UNITS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Parses `90s`, `15m`, `12h`, `30d` or `2w` into milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (match === null) return undefined;
  const [, amount = '', unit = ''] = match;
  const factor = UNITS[unit];
  return factor === undefined ? undefined : Number(amount) * factor;
}
