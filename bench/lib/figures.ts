/** One measured figure, as the benchmark table prints it. */
export interface Figure {
  figure: string;
  value: number;
  unit: string;
  /** The same measurement without the feature under test, taken in the same run. */
  baseline?: number;
  /** `value / baseline`, or a ratio measured directly. */
  ratio?: number;
  /** A human-readable target such as `≤ 5 µs` or `≥ 0.90`. */
  target?: string;
  met?: boolean;
}

export interface BenchOptions {
  quick: boolean;
  /** A PostgreSQL URL to benchmark against too, from BENCH_DATABASE_URL. */
  postgresUrl: string | undefined;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function format(value: number | undefined): string {
  if (value === undefined) return '';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(3);
}

/** Prints figures as an aligned table: figure, value, baseline, ratio, target, met. */
export function printTable(figures: readonly Figure[], out = process.stdout): void {
  const header = ['figure', 'value', 'unit', 'baseline', 'ratio', 'target', 'met'];
  const rows = figures.map((f) => [
    f.figure,
    format(f.value),
    f.unit,
    format(f.baseline),
    format(f.ratio),
    f.target ?? '',
    f.met === undefined ? '' : f.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join('  ');
  out.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) out.write(`${line(row)}\n`);
}
