// A real Docker engine for test/containers/: the one already running, or a
// `dockerd` this helper starts (vfs storage, no bridge, no iptables: what
// works on a machine with no registry and no network of its own) and stops
// again on teardown. An engine someone else started is never stopped. When
// no engine runs and none can start, the test FAILS with the reason and the
// command that fixes it; it never skips.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

// @ts-expect-error: a plain .mjs module (install.sh runs it before npm ci)
import { DOCKERD_ARGS as GC_DOCKERD_ARGS, ENGINE_LOCK, stopDockerd, TEST_LABEL } from '../setup/docker-gc.mjs';

export const DOCKERD_ARGS: string[] = GC_DOCKERD_ARGS;
export const ENGINE_INSTALL = 'bash test/setup/install-docker.sh';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface Engine {
  /** `docker ARGS`, never throwing on a status; output as text */
  docker(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): Run;
  /** the same, failing with the command and its output on a non-zero exit */
  must(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string }): string;
  /** true when this helper started dockerd (and will stop it) */
  started: boolean;
}

const BUF = 64 * 1024 * 1024;

/**
 * Everything a test makes on the engine carries TEST_LABEL, so the storage
 * collection (test/setup/docker-gc.mjs) can tell it from anyone else's.
 */
export function labelled(args: string[]): string[] {
  const label = ['--label', `${TEST_LABEL}=1`];
  if (args[0] === 'run' || args[0] === 'create') return [args[0], ...label, ...args.slice(1)];
  if ((args[0] === 'volume' || args[0] === 'container') && args[1] === 'create') return [args[0], args[1], ...label, ...args.slice(2)];
  return args;
}

/**
 * The engine lock, held until the test ends: the storage collection runs
 * only under it, so it never removes what a running test still uses, and
 * two runs on one engine (same tags) take turns. `flock` (util-linux) holds
 * it for us; it is let go when its stdin closes, so a killed test frees it.
 */
async function holdEngineLock(t: Test): Promise<void> {
  const holder = spawn('flock', ['-x', ENGINE_LOCK, 'sh', '-c', 'echo held; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const held = await new Promise<boolean>((resolve) => {
    holder.stdout.once('data', () => resolve(true));
    holder.once('exit', () => resolve(false));
    holder.once('error', () => resolve(false));
  });
  if (!held) throw new Error(`cannot take the engine lock ${ENGINE_LOCK} with flock (util-linux): install it with \`bash test/setup/install.sh\``);
  t.teardown(async () => {
    const gone = new Promise((r) => holder.once('exit', r));
    holder.stdin.end();
    await gone;
  });
}

function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: BUF, timeout: opts.timeoutMs ?? 120_000, input: opts.input, env: opts.env ?? process.env, cwd: opts.cwd });
  const why = r.error ? `\n(${r.error.message})` : '';
  return { status: r.status, stdout: r.stdout ?? '', stderr: `${r.stderr ?? ''}${why}` };
}

/** undefined when the engine answers, else what `docker version` said */
export function engineDown(): string | undefined {
  const r = run('docker', ['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 });
  return r.status === 0 && r.stdout.trim() !== '' ? undefined : (r.stderr.trim() || `docker version exited ${r.status}`);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

async function startDockerd(t: Test): Promise<ChildProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-dockerd-'));
  const logFile = path.join(dir, 'dockerd.log');
  const log = openSync(logFile, 'a');
  const child = spawn('dockerd', DOCKERD_ARGS, { stdio: ['ignore', log, log] });
  let exited: string | undefined;
  child.on('error', (e) => (exited = e.message));
  child.on('exit', (code, signal) => (exited ??= `exited ${code ?? signal}`));
  const tail = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n') : '');
  const until = Date.now() + 90_000;
  while (engineDown() !== undefined) {
    if (exited !== undefined || Date.now() > until) {
      if (exited === undefined) child.kill('SIGKILL');
      throw new Error(`dockerd ${DOCKERD_ARGS.join(' ')} did not come up (${exited ?? 'no answer in 90 s'}); its log:\n${tail()}`);
    }
    await sleep(500);
  }
  t.teardown(async () => {
    // stops what this helper started, and only that
    await stopDockerd(child);
    rmSync(dir, { recursive: true, force: true });
  });
  return child;
}

/**
 * The engine, started when none runs. Throws (the caller's test fails) with
 * what went wrong and how to fix it; no skip.
 */
export async function requireEngine(t: Test): Promise<Engine> {
  await holdEngineLock(t);
  const down = engineDown();
  let started = false;
  if (down !== undefined) {
    const fix = `start it as root with \`dockerd ${DOCKERD_ARGS.join(' ')}\`, or install it with \`${ENGINE_INSTALL}\``;
    if (run('docker', ['--version']).status !== 0) throw new Error(`the docker CLI is missing: ${fix}`);
    if (run('dockerd', ['--version']).status !== 0) throw new Error(`no Docker engine answers (${down}) and dockerd is not installed: ${fix}`);
    if (process.getuid?.() !== 0) throw new Error(`no Docker engine answers (${down}) and starting dockerd needs root: ${fix}`);
    try {
      await startDockerd(t);
    } catch (e) {
      throw new Error(`the Docker engine cannot start: ${(e as Error).message}\n${fix}`);
    }
    started = true;
  }
  const docker: Engine['docker'] = (args, opts) => run('docker', labelled(args), opts);
  return {
    started,
    docker,
    must(args, opts) {
      const r = docker(args, opts);
      if (r.status !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-4000)}${r.stderr.slice(-4000)}`);
      return r.stdout;
    },
  };
}
