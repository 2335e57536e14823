// Runs the built bundle as a child process and measures what a hostile peer
// cost it: its peak resident memory (VmHWM from /proc/<pid>/status, polled
// while it runs; the kernel keeps the high-water mark, so the last reading
// before exit is the peak up to that moment) and its wall time.

import { spawn } from 'node:child_process';
import { BUNDLE, ROOT } from './cli.ts';
import { readVmHwmKib } from './peak-rss.ts';

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** peak resident set size in MiB */
  peakRssMiB: number;
  elapsedMs: number;
}

const POLL_MS = 20;


export interface MeasureOptions {
  /** killed with SIGKILL after this long (a hang is then visible as signal SIGKILL) */
  killAfterMs?: number;
  /** called once the child runs, e.g. to send it a signal later */
  onStart?: (pid: number) => void;
}

/** `node dist/erlmcp-secrets.js ...args` with its peak RSS and duration */
export async function runBundleMeasured(args: string[], opts: MeasureOptions = {}): Promise<MeasuredRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [BUNDLE, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let peakKiB = 0;
  const pid = child.pid as number;
  const poll = setInterval(() => {
    peakKiB = Math.max(peakKiB, readVmHwmKib(pid) ?? 0);
  }, POLL_MS);
  opts.onStart?.(pid);
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => {
      peakKiB = Math.max(peakKiB, readVmHwmKib(pid) ?? 0);
      resolve([c, s]);
    }),
  );
  clearInterval(poll);
  clearTimeout(killer);
  // let the pipes drain
  await new Promise<void>((resolve) => (child.stdout.readableEnded ? resolve() : child.stdout.on('end', () => resolve())));
  return { code, signal, stdout, stderr, peakRssMiB: Math.round((peakKiB / 1024) * 10) / 10, elapsedMs: Date.now() - started };
}
