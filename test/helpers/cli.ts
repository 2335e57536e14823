// Runs the real CLI as a child process (from source, or the built bundle)
// and gives back exit code, output and the parsed JSON log lines.

import { spawn } from 'node:child_process';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const ENTRY = path.join(ROOT, 'agent/cli/entry.ts');
export const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr's JSON log lines */
  logs: Array<Record<string, unknown> & { level: string; msg: string }>;
  /** the closing `... failed` line's problems, if the command failed */
  problems: string[];
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** run this file instead of the source entry (e.g. the bundle) */
  program?: string;
  /** node's own flags, before the program (e.g. image/node-flags.json's) */
  nodeArgs?: string[];
  timeoutMs?: number;
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.program ?? ENTRY, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const logs = stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as CliRun['logs'][number]);
  const fatal = logs.find((l) => l.level === 'fatal');
  return { code, stdout, stderr, logs, problems: (fatal?.problems as string[] | undefined) ?? [] };
}
