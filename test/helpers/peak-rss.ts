// The peak resident memory of a child process, from /proc/PID/status VmHWM
// (the kernel's high-water mark, so a sample taken late still holds every
// earlier peak). Sampled until stopped or the process is gone; the last
// reading is the answer.

import { readFileSync } from 'node:fs';

export interface PeakRss {
  /** stop sampling; the highest VmHWM seen, in MiB (0 if never read) */
  stop(): number;
  /** the highest VmHWM seen so far, in MiB */
  mib(): number;
}

export function readVmHwmKib(pid: number): number | undefined {
  try {
    // a synchronous read: /proc files are generated on read and tiny
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // gone (or a zombie without memory lines)
  }
}

export function watchPeakRss(pid: number, everyMs = 20): PeakRss {
  let peakKib = 0;
  const sample = (): void => {
    const k = readVmHwmKib(pid);
    if (k !== undefined && k > peakKib) peakKib = k;
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop: () => {
      sample();
      clearInterval(timer);
      return peakKib / 1024;
    },
    mib: () => peakKib / 1024,
  };
}
