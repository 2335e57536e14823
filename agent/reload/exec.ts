// `exec` notifier: runs a command (argv array, no shell) and reads its exit
// status. The child gets the agent's environment minus anything that holds a
// secret (a registered value, or a variable named like a credential), plus the
// config's `env`. It runs in its own process group so a timeout kills the
// whole tree (a wrapper script and what it started), not just the parent.
// Its output is never logged in full: only a short scrubbed tail of it goes
// into the outcome detail when the command fails.

import type { ReloadConfig } from '../config/reload-schema.ts';
import { scrub } from '../log/secret-registry.ts';
import type { ChangeSet, Notifier, Outcome } from './notifier.ts';
import { OutputTail } from './output-tail.ts';

export type ExecReloadConfig = Extract<ReloadConfig, { type: 'exec' }>;

/** variables that carry credentials for the agent itself, never passed on */
const CREDENTIAL_VARS = /^(VAULT_TOKEN|VAULT_SECRET_ID|VAULT_ROLE_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AZURE_CLIENT_SECRET|AZURE_CLIENT_CERTIFICATE_PASSWORD|GOOGLE_APPLICATION_CREDENTIALS_JSON|ERLMCP_SECRETS_.*TOKEN.*)$/;

/** after SIGTERM on timeout, SIGKILL the group if it is still there */
const KILL_GRACE_MS = 2000;

export function childEnvironment(parent: NodeJS.ProcessEnv, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) {
    if (v === undefined || CREDENTIAL_VARS.test(k)) continue;
    // a variable whose value is (or contains) a secret value the agent has seen
    if (scrub(v) !== v) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export interface ExecDeps {
  /** parent environment; default process.env */
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export class ExecNotifier implements Notifier {
  readonly kind = 'exec';
  readonly timeoutMs: number;
  private readonly cfg: ExecReloadConfig;
  private readonly deps: ExecDeps;

  constructor(cfg: ExecReloadConfig, deps: ExecDeps = {}) {
    this.cfg = cfg;
    this.deps = deps;
    this.timeoutMs = cfg.timeout;
  }

  describe(): string {
    // argv may hold a token in an argument: scrub what we show
    return scrub(`run ${JSON.stringify(this.cfg.command)}`);
  }

  notify(change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const [file, ...args] = this.cfg.command as [string, ...string[]];
    const env = childEnvironment(this.deps.env ?? process.env, {
      ...this.cfg.env,
      // names only: lets a script reload just what changed
      ERLMCP_SECRETS_CHANGED: change.secrets.join(','),
      ERLMCP_SECRETS_CHANGED_FILES: change.files.join(':'),
    });
    const tail = new OutputTail();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let killedBy: 'timeout' | 'cancel' | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const finish = (ok: boolean, detail: string): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        resolve({ ok, detail, durationMs: now() - started });
      };
      // node:child_process on first use: the sidecar imports every notifier, configured or not
      const child = process.getBuiltinModule('node:child_process').spawn(file, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (b: Buffer) => tail.push(b));
      child.stderr.on('data', (b: Buffer) => tail.push(b));
      const killGroup = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // group already gone
        }
      };
      const onAbort = (): void => {
        killedBy = signal.reason instanceof DOMException && signal.reason.name === 'TimeoutError' ? 'timeout' : 'cancel';
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
        killTimer.unref();
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });

      child.on('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' ? 'command not found' : e.code === 'EACCES' ? 'not executable' : (e.code ?? e.name);
        finish(false, `${this.describe()}: ${why}`);
      });
      child.on('close', (code, sig) => {
        const out = tail.text();
        const withOutput = (s: string): string => (out ? `${s}; output ends: ${out}` : s);
        if (killedBy === 'timeout') finish(false, withOutput(`timed out after ${this.timeoutMs} ms; process group killed`));
        else if (killedBy === 'cancel') finish(false, 'cancelled (agent shutting down); process group killed');
        else if (code === 0) finish(true, 'exit 0');
        else if (sig) finish(false, withOutput(`killed by ${sig}`));
        else finish(false, withOutput(`exit ${code}`));
      });
    });
  }
}
