// The real CLI as a long-running child process (`run`, `exec`): its JSON log
// lines are parsed as they arrive, so a test can wait for a given message,
// signal the agent, and collect how it ended.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { ENTRY, ROOT } from './cli.ts';

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface AgentProcess {
  proc: ChildProcess;
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** resolves with the first log line (from index `from` on, seen so far or later) that matches */
  waitForLog(match: (l: LogLine) => boolean, what: string, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** how many log lines match */
  countLogs(match: (l: LogLine) => boolean): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** opts.program: run this file instead of the source entry (e.g. BUNDLE) */
export function startAgent(t: Test, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; program?: string } = {}): AgentProcess {
  const proc = spawn(process.execPath, [opts.program ?? ENTRY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (!l.startsWith('{')) continue;
      try {
        logs.push(JSON.parse(l) as LogLine);
      } catch {
        // not a log line
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.once('close', (code, signal) => r({ code, signal })));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const waitForLog = (match: (l: LogLine) => boolean, what: string, timeoutMs = 15_000, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = logs.slice(from).find(match);
        if (!hit) return false;
        cleanup();
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; stderr so far:\n${err.slice(-4000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(new Error(`agent exited before ${what}; stderr:\n${err.slice(-4000)}`));
      };
      const w = (): void => void check();
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(w);
        proc.off('close', onExit);
      };
      waiters.add(w);
      proc.once('close', onExit);
      check();
    });
  return {
    proc,
    logs,
    stdout: () => out,
    stderr: () => err,
    waitForLog,
    countLogs: (match) => logs.filter(match).length,
    exited,
  };
}

export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
