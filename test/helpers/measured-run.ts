// Runs a command to its end under GNU time, for tests that bound what a
// hostile input may cost: wall time, and the child's peak RSS (which Node
// cannot report for a child). Fails, with the install command, when
// /usr/bin/time is missing.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** the child's peak resident set, in MiB */
  maxRssMiB: number;
}

const TIME = '/usr/bin/time';
const MARK = 'measured-run-maxrss-kb=';

export async function measuredRun(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}): Promise<MeasuredRun> {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing; install it with test/setup/install-time.sh (apt-get install time)`);
  const started = Date.now();
  const child = spawn(TIME, ['-f', `${MARK}%M`, ...argv], { cwd: opts.cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // a hang is a failure, not a stuck test: time and the command go together, as one process group
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  };
  const timer = setTimeout(killGroup, opts.killAfterMs ?? 60_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (c, s) => r([c, s])));
  clearTimeout(timer);
  const ms = Date.now() - started;
  const at = stderr.lastIndexOf(MARK);
  const maxRssMiB = at < 0 ? NaN : Number(stderr.slice(at + MARK.length).trim().split('\n')[0]) / 1024;
  // GNU time reports a child killed by a signal as "Command terminated by signal N" and exits 128+N
  return { code, signal, stdout, stderr: at < 0 ? stderr : stderr.slice(0, at), ms, maxRssMiB };
}
