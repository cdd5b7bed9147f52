import { readdirSync, readFileSync } from 'node:fs';
import type { Figure } from './figures.js';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

interface Stat {
  ppid: number;
  cpuMicros: number;
}

function stat(pid: number): Stat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields follow its last ")".
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { ppid: Number(fields[1]), cpuMicros: (ticks * 1e6) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU time, in microseconds, used so far by one process, all its threads included. */
export function processCpuMicros(pid: number): number | undefined {
  return stat(pid)?.cpuMicros;
}

/** The smallest CPU time /proc can tell apart, in microseconds. */
export const CPU_TICK_MICROS = 1e6 / TICKS_PER_SECOND;

function children(root: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== root && stat(pid)?.ppid === root) found.push(pid);
  }
  return found;
}

/**
 * CPU time, in microseconds, used so far by a process and its living children (a cluster
 * primary and its workers), read from /proc; undefined where there is no /proc.
 */
export function treeCpuMicros(root: number): number | undefined {
  const own = stat(root);
  if (own === undefined) return undefined;
  return children(root).reduce((total, pid) => total + (stat(pid)?.cpuMicros ?? 0), own.cpuMicros);
}

function peakRssBytes(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * The peak resident memory of a process plus that of each living child, from /proc. The
 * processes need not peak at once, so for a cluster this is an upper bound.
 */
export function treePeakRssBytes(root: number): number | undefined {
  const own = peakRssBytes(root);
  if (own === undefined) return undefined;
  return children(root).reduce((total, pid) => total + (peakRssBytes(pid) ?? 0), own);
}

/** The highest peak RSS among a suite's servers, each read just before it is stopped. */
export class PeakMemory {
  private bytes = 0;

  record(pid: number | undefined): void {
    if (pid === undefined) return;
    this.bytes = Math.max(this.bytes, treePeakRssBytes(pid) ?? 0);
  }

  /** The figure, and a fresh start for the next database or server kind. */
  take(label: string): Figure[] {
    const bytes = this.bytes;
    this.bytes = 0;
    return bytes === 0
      ? []
      : [{ figure: `${label}: server peak RSS`, value: bytes / 1e6, unit: 'MB' }];
  }
}
