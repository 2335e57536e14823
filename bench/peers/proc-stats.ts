// What a running process costs, read from /proc: CPU time of all its threads
// (utime + stime in /proc/PID/stat, clock ticks) and its memory from
// /proc/PID/smaps_rollup (RSS; USS = private clean + private dirty, the pages
// only this process holds; anonymous = heap and stacks, what no file backs).

import { readFileSync } from 'node:fs';

/** USER_HZ on Linux: what /proc/PID/stat counts CPU time in */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system, every thread) of a live process, in ms */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  const ticks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(ticks)) throw new Error(`cannot read CPU time from /proc/${pid}/stat`);
  return (ticks * 1000) / TICKS_PER_SECOND;
}

export interface Memory {
  rssMb: number;
  ussMb: number;
  anonMb: number;
}

/** parses smaps_rollup text (kB lines) into MB figures */
export function parseSmapsRollup(text: string): Memory {
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`smaps_rollup has no ${key} line`);
    return Number(m[1]);
  };
  return {
    rssMb: kb('Rss') / 1024,
    ussMb: (kb('Private_Clean') + kb('Private_Dirty')) / 1024,
    anonMb: kb('Anonymous') / 1024,
  };
}

export function memory(pid: number): Memory {
  return parseSmapsRollup(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
}
