// `signal` notifier: sends a signal to the application, found by pid file or
// by process name.
//
// The Erlang VM needs care: with no handler installed, SIGHUP and SIGUSR2 kill
// it (OS default action), SIGUSR1 halts it with a crash dump, SIGQUIT halts it,
// SIGTERM stops it (init:stop/0) and SIGINT opens the break handler (kernel
// app, "OS Signal Event Handler"). So a BEAM target gets such a signal only
// when the config says `beamHandlerInstalled: true`, i.e. the node called
// os:set_signal(Sig, handle) and added a handler to erl_signal_server, as
// templates/erlang/erlmcp_secrets_reload.erl does. Otherwise we refuse.

import type { ReloadConfig } from '../config/reload-schema.ts';
import { isReadRefusal } from '../files/bounded-read.ts';
import type { ChangeSet, Notifier, Outcome } from './notifier.ts';
import { findProcessesByName, isBeam, readPidFile, readProcessInfo, type ProcFs, type ProcessInfo } from './process-finder.ts';

export type SignalReloadConfig = Extract<ReloadConfig, { type: 'signal' }>;

/** signals whose unhandled effect on a BEAM is death, a dump or a halt */
export const BEAM_FATAL_SIGNALS: ReadonlySet<string> = new Set(['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGQUIT', 'SIGTERM', 'SIGINT']);

export interface SignalDeps {
  proc?: ProcFs;
  /** injectable for tests; default process.kill */
  kill?: (pid: number, signal: NodeJS.Signals) => void;
  now?: () => number;
}

export class SignalNotifier implements Notifier {
  readonly kind = 'signal';
  readonly timeoutMs: number;
  private readonly cfg: SignalReloadConfig;
  private readonly deps: SignalDeps;

  constructor(cfg: SignalReloadConfig, deps: SignalDeps = {}) {
    this.cfg = cfg;
    this.deps = deps;
    this.timeoutMs = cfg.timeout;
  }

  describe(): string {
    const target = this.cfg.pidFile ? `pid file ${this.cfg.pidFile}` : `process named "${this.cfg.processName}"`;
    return `send ${this.cfg.signal} to ${target}`;
  }

  async notify(_change: ChangeSet, signal: AbortSignal): Promise<Outcome> {
    const now = this.deps.now ?? Date.now;
    const started = now();
    const done = (ok: boolean, detail: string): Outcome => ({ ok, detail, durationMs: now() - started });

    let targets: ProcessInfo[];
    try {
      targets = await this.findTargets();
    } catch (e) {
      return done(false, e instanceof Error ? e.message : String(e));
    }
    if (targets.length === 0) {
      return done(false, `no process named "${this.cfg.processName}" (is shareProcessNamespace: true set on the pod?)`);
    }
    const sig = this.cfg.signal as NodeJS.Signals;
    if (BEAM_FATAL_SIGNALS.has(sig) && this.cfg.beamHandlerInstalled !== true) {
      const beams = targets.filter(isBeam);
      if (beams.length > 0) {
        return done(
          false,
          `refused to send ${sig} to pid ${beams.map((b) => b.pid).join(', ')}: it is an Erlang VM (beam.smp), which ${sig} stops or kills unless a handler is installed. ` +
            'Install erlmcp_secrets_reload (templates/erlang) in the node and set beamHandlerInstalled: true, or use a reload of type "erlang"',
        );
      }
    }
    if (signal.aborted) return done(false, 'cancelled before sending');
    const kill = this.deps.kill ?? ((pid: number, s: NodeJS.Signals) => void process.kill(pid, s));
    const sent: number[] = [];
    for (const t of targets) {
      try {
        kill(t.pid, sig);
        sent.push(t.pid);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === 'EPERM' ? 'permission denied (the agent must run as the same user as the target, or with CAP_KILL)' : code === 'ESRCH' ? 'the process exited' : String(code ?? e);
        return done(false, `sending ${sig} to pid ${t.pid} failed: ${why}${sent.length ? `; already sent to pid ${sent.join(', ')}` : ''}`);
      }
    }
    return done(true, `sent ${sig} to pid ${sent.join(', ')}`);
  }

  private async findTargets(): Promise<ProcessInfo[]> {
    const proc = this.deps.proc;
    if (this.cfg.pidFile) {
      let pid: number;
      try {
        pid = await readPidFile(this.cfg.pidFile);
      } catch (e) {
        if (!isReadRefusal(e)) throw e;
        if (e.errno === 'ENOENT') throw new Error(`pid file ${this.cfg.pidFile} does not exist (has the application started?)`);
        throw new Error(`pid file ${this.cfg.pidFile} is not readable: ${e.message}`);
      }
      const info = await readProcessInfo(pid, proc);
      if (!info) throw new Error(`pid ${pid} from pid file ${this.cfg.pidFile} is not running`);
      return [info];
    }
    return findProcessesByName(this.cfg.processName ?? '', proc);
  }
}

/** config warnings for `check`: things that are valid but probably wrong */
export function lintSignalReload(cfg: SignalReloadConfig, where = 'reload'): string[] {
  const w: string[] = [];
  if (BEAM_FATAL_SIGNALS.has(cfg.signal) && cfg.beamHandlerInstalled !== true) {
    w.push(
      `${where}: ${cfg.signal} kills or stops an Erlang node that has not installed a handler, so the agent refuses to send it to a BEAM process; ` +
        'if the target is erlmcp, add erlmcp_secrets_reload (templates/erlang) to the node and set beamHandlerInstalled: true, or use type: erlang',
    );
  }
  if (cfg.signal === 'SIGTERM' || cfg.signal === 'SIGINT' || cfg.signal === 'SIGQUIT') {
    w.push(`${where}: ${cfg.signal} stops most programs; as a reload it restarts the container at best`);
  }
  if (cfg.signal === 'SIGWINCH') w.push(`${where}: SIGWINCH is ignored by default; it only reloads a program that handles it`);
  if (cfg.processName !== undefined) {
    w.push(`${where}: finding a process by name needs shareProcessNamespace: true on the pod (the sidecar sees only its own processes otherwise)`);
    if (cfg.processName.length > 15) w.push(`${where}: process names longer than 15 characters match argv[0] or the executable, not the kernel's truncated name`);
  }
  return w;
}
