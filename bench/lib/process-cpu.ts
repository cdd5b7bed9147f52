import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * CPU time, in microseconds, used so far by a process and its living children (a cluster
 * primary and its workers), read from /proc; undefined where there is no /proc.
 */
export function treeCpuMicros(root: number): number | undefined {
  const own = stat(root);
  if (own === undefined) return undefined;
  let total = own.cpuMicros;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === root) continue;
    const child = stat(pid);
    if (child?.ppid === root) total += child.cpuMicros;
  }
  return total;
}
