// Reproduces the container image's run step without Docker: the program alone
// in an empty directory owned by root and made read-only, run as the image's
// user (uid/gid 65532) with no HOME, its cwd in that directory, writing only
// into a scratch directory that user owns (the tmpfs volume's stand-in).

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const IMAGE_UID = 65532;
export const ROOT = path.resolve(import.meta.dirname, '../..');

/** why the sandbox cannot run here, or undefined when it can */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to run a program as uid 65532';
  if (spawnSync('setpriv', ['--version']).status !== 0) return 'needs setpriv (util-linux)';
  return undefined;
}

export interface Sandbox {
  /** the sandbox's own directory (root-owned, 0755): room for more fixtures */
  root: string;
  /** the image's program directory: root-owned, read-only once sealed */
  app: string;
  /** config, templates and dev secrets: root-owned, world-readable (a ConfigMap/Secret mount) */
  etc: string;
  /** owned by 65532, mode 0700: the tmpfs output volume */
  out: string;
  /** put a file into app/ (mode 0555 for programs, 0444 otherwise) */
  addProgram(from: string, name?: string): string;
  /** write a file below etc/ (parents created), world-readable */
  writeEtc(relative: string, content: string): string;
  /** chmod -R a-w on app/: nothing may be written there from now on */
  seal(): void;
  /** every path below app/ with its size and mtime, to prove nothing changed */
  snapshotApp(): string[];
  cleanup(): void;
}

export function makeSandbox(): Sandbox {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-image-'));
  chmodSync(root, 0o755); // mkdtemp gives 0700: the image user must traverse it
  const app = path.join(root, 'app');
  const etc = path.join(root, 'etc');
  const out = path.join(root, 'out');
  for (const d of [app, etc]) mkdirSync(d, { mode: 0o755 });
  mkdirSync(out, { mode: 0o700 });
  chownSync(out, IMAGE_UID, IMAGE_UID);

  return {
    root,
    app,
    etc,
    out,
    addProgram(from, name = path.basename(from)) {
      const to = path.join(app, name);
      copyFileSync(from, to);
      chmodSync(to, 0o555);
      return to;
    },
    writeEtc(relative, content) {
      const to = path.join(etc, relative);
      mkdirSync(path.dirname(to), { recursive: true, mode: 0o755 });
      writeFileSync(to, content, { mode: 0o644 });
      return to;
    },
    seal() {
      spawnSync('chmod', ['-R', 'a-w', app], { stdio: 'inherit' });
    },
    snapshotApp() {
      const lines: string[] = [];
      const walk = (dir: string): void => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
          const p = path.join(dir, e.name);
          const s = statSync(p);
          lines.push(`${path.relative(app, p)} ${s.size} ${s.mtimeMs} ${(s.mode & 0o777).toString(8)}`);
          if (e.isDirectory()) walk(p);
        }
      };
      walk(app);
      return lines.sort();
    },
    cleanup() {
      spawnSync('chmod', ['-R', 'u+w', root]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  /** the whole environment: HOME and everything else stay unset unless given */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * argv as uid/gid 65532 with no supplementary groups: `env -i` first, so the
 * program sees only the given environment (the test runner adds NODE_OPTIONS
 * hooks to every child it spawns; the image has none of them)
 */
export function asImageUser(argv: string[], env: Record<string, string> = {}): string[] {
  const vars = Object.entries({ PATH: '/usr/bin:/bin', ...env }).map(([k, v]) => `${k}=${v}`);
  return ['env', '-i', ...vars, 'setpriv', `--reuid=${IMAGE_UID}`, `--regid=${IMAGE_UID}`, '--clear-groups', '--', ...argv];
}

export function runAsImageUser(argv: string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolve) => {
    const [cmd, ...args] = asImageUser(argv, opts.env);
    const child = spawn(cmd!, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `npm run build:binary -- --out FILE [extra]`: the script as a user runs it */
export function buildBinary(out: string, extra: string[] = []): { status: number | null; output: string } {
  const r = spawnSync('npm', ['run', '--silent', 'build:binary', '--', '--out', out, ...extra], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** the bundle, built if missing (`npm test` builds it first) */
export function bundlePath(): string {
  const bundle = path.join(ROOT, 'dist', 'erlmcp-secrets.js');
  try {
    statSync(bundle);
  } catch {
    const r = spawnSync(path.join(ROOT, 'node_modules/.bin/node'), [path.join(ROOT, 'image/build.mjs')], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`npm run build failed: ${r.stderr}`);
  }
  return bundle;
}

/** the project's Node 24 (the system node may be older) */
export const NODE24 = path.join(ROOT, 'node_modules/node/bin/node');
