// `erlmcp-secrets run`: after the init gate, stay up as a sidecar: the refresh
// loop, the health/metrics server, and a clean stop on SIGTERM/SIGINT or
// POST /quit (exit 0; Kubernetes sends SIGTERM when the pod stops).
//
//   startSidecar(gate, opts) -> { stop(reason), stopped: Promise<void>, server }   (tests)
//   runSidecar(gate)         -> exit code, wiring process signals              (cli)

import type { GateResult } from '../pipeline/gate.ts';
import { EXIT } from '../cli/exit-codes.ts';
import { closeProviders } from '../providers/open.ts';
import { createNotifiers, type NotifierDeps } from '../reload/factory.ts';
import { ErlangNotifier, erlangNotifierFactory } from '../reload/erlang.ts';
import { runNotifiers } from '../reload/run-notifiers.ts';
import { realClock, type Clock } from '../scheduler/clock.ts';
import { Health } from '../server/health.ts';
import { startServer, type RunningServer } from '../server/http-server.ts';
import { AgentMetrics } from '../server/metrics.ts';
import { VERSION } from '../version.ts';
import { RefreshLoop } from './refresh-loop.ts';
import type { Notifier } from '../reload/notifier.ts';
import { existsSync } from 'node:fs';
import { loadConfigFile } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import { watchSources, type SourceWatch } from './source-watch.ts';
import { applyWriteRequestChanges } from './reissue-on-config.ts';

export type SidecarInput = Pick<GateResult, 'config' | 'templates' | 'providers' | 'store' | 'logger'> & Partial<Pick<GateResult, 'invalidations' | 'startupReads'>>;

export interface SidecarOptions {
  clock?: Clock;
  rand?: () => number;
  /** builders for notifier kinds not in this module (the `erlang` one) */
  notifierDeps?: NotifierDeps;
  /** override server.listen (tests: 127.0.0.1:0) */
  listen?: string;
  /** replace the configured notifiers (the exec wrapper restarts its child instead) */
  notifiers?: (configured: Notifier[]) => Notifier[];
  /** see RefreshLoopDeps.notifyOn */
  notifyOn?: 'files' | 'secrets';
  /** watch template sources and the config file (default true) */
  watchSources?: boolean;
}

export interface RunningSidecar {
  loop: RefreshLoop;
  health: Health;
  metrics: AgentMetrics;
  server: RunningServer | undefined;
  /** idempotent; resolves when everything is closed */
  stop(reason: string): Promise<void>;
  /** resolves once stopped, whoever asked (signal, POST /quit, caller) */
  stopped: Promise<void>;
}

export async function startSidecar(gate: SidecarInput, opts: SidecarOptions = {}): Promise<RunningSidecar> {
  const { config, logger } = gate;
  const clock = opts.clock ?? realClock;
  const erlang = erlangNotifierFactory({ logger, baseDir: config.baseDir, store: gate.store });
  let notifiers: Notifier[];
  try {
    notifiers = createNotifiers(config.reload, { erlang, ...opts.notifierDeps });
    if (opts.notifiers) notifiers = opts.notifiers(notifiers);
  } catch (e) {
    await closeProviders(gate.providers);
    throw e;
  }
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: VERSION });
  // init's reads happened before the metrics existed; they count too
  for (const r of gate.startupReads ?? []) {
    if (r.errorCode) metrics.fetchFailed(r.provider, r.secret, r.errorCode);
    else metrics.fetched(r.provider, r.secret);
  }
  const loop = new RefreshLoop({ ...gate, notifiers, health, metrics, clock, ...(opts.rand ? { rand: opts.rand } : {}), ...(opts.notifyOn ? { notifyOn: opts.notifyOn } : {}) });
  // providers were opened before the loop existed; from now on their
  // invalidations (a replaced Vault token) reach it
  gate.invalidations?.attach((reason, names) => loop.invalidate(reason, names));

  // an agent that stopped half-way through a cookie rotation left the cookie
  // the node runs in .previous: finish the rotation now, not at the next change
  const unfinished = new AbortController();
  const pending = notifiers.filter((n) => n instanceof ErlangNotifier && n.cookieRotationPending);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  let server: RunningServer | undefined;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      logger.info({ reason }, 'sidecar stopping');
      unfinished.abort();
      await sources?.close();
      // lets the write in flight finish
      await loop.stop();
      if (config.shutdown?.revokeLeases) await loop.revokeLeases();
      // notifiers that keep a connection open (erlang) let go of it
      for (const n of notifiers) n.close?.();
      await server?.close();
      await closeProviders(gate.providers);
      logger.info('sidecar stopped');
      resolveStopped();
    })();
    return stopping;
  };

  loop.start();
  if (pending.length > 0) {
    logger.info({ notifiers: pending.map((n) => n.describe()) }, 'a cookie rotation was left unfinished (a .previous cookie is kept): finishing it now');
    void runNotifiers(pending, { secrets: [], files: [] }, logger, { signal: unfinished.signal, now: () => clock.now() });
  }
  let sources: SourceWatch | undefined;
  if (opts.watchSources !== false) {
    sources = watchSources({
      templateSources: config.templates.flatMap((t) => (t.sourcePath ? [t.sourcePath] : [])),
      configFile: existsSync(config.origin) ? config.origin : undefined,
      onTemplate: (file) => void loop.templateSourceChanged(file),
      // what a restart would meet: the config parsed and checked, no backend calls
      checkConfig: async (file) => {
        try {
          const next = await loadConfigFile(file);
          // a written secret's new request (a new common name) is issued now
          applyWriteRequestChanges(config, next, { providers: gate.providers, logger, reissue: (reason, names) => loop.invalidate(reason, names) });
          return undefined;
        } catch (e) {
          const err = asAgentError(e, file);
          return { message: err.message, problems: err.problems };
        }
      },
      logger,
    });
    await sources.ready;
  }
  if (config.server.enabled) {
    try {
      server = await startServer({ listen: opts.listen ?? config.server.listen, quit: config.server.quit, health, metrics, logger, onQuit: () => stop('POST /quit') });
    } catch (e) {
      await sources?.close();
      await loop.stop();
      await closeProviders(gate.providers);
      throw e;
    }
    logger.info({ url: server.url, quit: config.server.quit }, 'health server listening');
  }
  logger.info({ secrets: Object.keys(config.secrets).length, notifiers: notifiers.map((n) => n.describe()) }, 'sidecar running');
  return { loop, health, metrics, server, stop, stopped };
}

export async function runSidecar(gate: GateResult): Promise<number> {
  const sidecar = await startSidecar(gate);
  const { logger } = gate;
  let stopping = false;
  // a second SIGTERM/SIGINT (an impatient operator, a runtime that repeats
  // it) must not kill the agent half-way through its stop: the write in
  // flight, lease revocation. It is logged; SIGKILL remains for the impatient.
  const onStop = (sig: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal: sig }, 'already stopping; waiting for the write in flight (SIGKILL forces)');
      return;
    }
    stopping = true;
    void sidecar.stop(sig);
  };
  // Node's default for SIGHUP is to die without a word; the conventional
  // meaning for a daemon is "look again", so it is: every static secret and
  // every rendered file is checked now.
  const onHup = (): void => {
    logger.info({ signal: 'SIGHUP' }, 'SIGHUP received');
    sidecar.loop.recheck();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await sidecar.stopped;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  }
  return EXIT.ok;
}
