// Runs the application under `exec` and keeps it running: forwards the
// signals the agent receives, restarts it with a new environment when secrets
// change (stop signal, grace period, then SIGKILL), and reports how it ended
// so the agent can exit with the child's code.

import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';

export const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** forwarded signals that mean "stop": one arriving during a restart ends it
 * there (the pod is going away; starting the application again would only
 * make the kubelet wait out its grace period and SIGKILL). SIGTERM is
 * remembered even outside a restart (in a pod it only ever means "terminate",
 * and the application may still be shutting down when a change comes); an
 * application may handle SIGINT or SIGQUIT and keep running, so those count
 * only while a restart is under way. */
const STOPPING_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT']);

export interface ChildOptions {
  argv: string[];
  logger: Logger;
  stopSignal: NodeJS.Signals;
  graceMs: number;
}

/** how the application ended, as a shell would report it */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? constants.signals[signal] : undefined;
  return 128 + (n ?? 0);
}

export class SupervisedChild {
  readonly #opts: ChildOptions;
  #child: ChildProcess | undefined;
  #restarting = false;
  #stopRequested = false;
  #startErrno: string | undefined;
  #resolveExit!: (code: number) => void;
  /** resolves with the exit code once the application ended by itself (not by a restart) */
  readonly exited: Promise<number>;

  constructor(opts: ChildOptions) {
    this.#opts = opts;
    this.exited = new Promise((r) => (this.#resolveExit = r));
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(env: NodeJS.ProcessEnv): Promise<void> {
    const [cmd, ...args] = this.#opts.argv;
    const child = spawn(cmd!, args, { env, stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (e: NodeJS.ErrnoException) => (this.#startErrno = e.code,
        reject(new AgentError('usage', `exec: cannot start ${cmd}: ${e.code === 'ENOENT' ? 'no such file or command on PATH' : e.code === 'EACCES' ? 'permission denied' : e.code ?? e.message}`))),
      );
    });
    this.#child = child;
    this.#opts.logger.info({ pid: child.pid, command: cmd }, 'application started');
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return; // a restart replaced it
      const exitCode = exitCodeOf(code, signal);
      this.#opts.logger.info({ pid: child.pid, code, signal, exitCode }, 'application exited');
      if (!this.#restarting || this.#stopRequested) this.#resolveExit(exitCode);
    });
  }

  /** after start() failed: what a shell exits with for that command, 127
   * not found, 126 not executable (1 for anything else) */
  get startFailureCode(): number {
    return this.#startErrno === 'ENOENT' ? 127 : this.#startErrno === 'EACCES' ? 126 : 1;
  }

  /** passes a signal the agent received on to the application */
  forward(signal: NodeJS.Signals): void {
    if (signal === 'SIGTERM' || (this.#restarting && STOPPING_SIGNALS.has(signal))) this.#stopRequested = true;
    this.#child?.kill(signal);
  }

  /** stop (stop signal, grace, SIGKILL) and start again with a new environment */
  async restart(env: NodeJS.ProcessEnv): Promise<void> {
    this.#restarting = true;
    try {
      await this.stop();
      if (this.#stopRequested) {
        this.#opts.logger.info('not starting the application again: the agent was asked to stop during the restart');
        return;
      }
      try {
        await this.start(env);
      } catch (e) {
        // Without an application the agent has nothing to wrap: it ends, as
        // a shell would for a command that is not there (127) or not
        // executable (126), rather than idling with the pod looking alive.
        const code = this.startFailureCode;
        this.#opts.logger.error({ err: (e as Error).message, exitCode: code }, 'the application could not be started again; the agent exits');
        this.#resolveExit(code);
        throw e;
      }
    } finally {
      this.#restarting = false;
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(this.#opts.stopSignal);
    const timer = setTimeout(() => {
      this.#opts.logger.warn({ pid: child.pid, graceMs: this.#opts.graceMs }, 'application did not stop within the grace period; sending SIGKILL');
      child.kill('SIGKILL');
    }, this.#opts.graceMs);
    await gone;
    clearTimeout(timer);
  }
}
