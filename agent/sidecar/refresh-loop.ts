// The sidecar's refresh loop, after the init gate has filled the store and
// written every file once. A thin coordinator over parts with one job each:
//
//   scheduler (one timer per secret) --due--> secret-checks.ts: renew, refetch
//     or poll each secret; a new value is validated and trial-rendered before
//     it replaces the last good one
//   provider login tokens (Vault): token-keeper.ts, on the same scheduler
//   changed names --ChangeBatcher (refresh.wait)--> rendered-files.ts:
//     re-render only templates that use them --writer (skips equal bytes)-->
//     notifiers, only when a file's bytes changed
//   after a round of checks and on a timer, at most once per refresh
//   interval (output-check-pacer.ts), and on checkOutputs() (SIGHUP):
//     output-repair.ts stats each file against what the agent left behind and
//     rewrites a difference from the last good render. Writes and these
//     repairs never overlap.
//   template sources edited on disk: template-reload.ts re-reads and
//     re-checks them; a broken edit is logged and the last good template stays
//   shutdown.revokeLeases: lease-revoker.ts
//   Health and metrics follow every step.
//
// All time comes from the injected Clock, so the loop runs under ManualClock
// in tests. The loop never closes providers or the server: run.ts owns those.

import { AgentError, asAgentError } from '../errors.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { renderAll, type RenderedFile } from '../pipeline/render-all.ts';
import { ChangeBatcher } from '../scheduler/batcher.ts';
import { Scheduler, type CheckKind, type DueCheck } from '../scheduler/scheduler.ts';
import { writeAtomic } from '../writer/atomic-write.ts';
import { withCallSignal } from './call-signal.ts';
import { revokeLeases } from './lease-revoker.ts';
import type { RefreshLoopDeps } from './loop-deps.ts';
import { OutputCheckPacer, outputCheckPeriod } from './output-check-pacer.ts';
import { OutputRepair } from './output-repair.ts';
import { dependents, RenderedFiles } from './rendered-files.ts';
import { SecretChecks } from './secret-checks.ts';
import { reloadTemplateSource } from './template-reload.ts';
import { TokenKeeper } from './token-keeper.ts';

export type { RefreshLoopDeps } from './loop-deps.ts';

export class RefreshLoop {
  private readonly d: RefreshLoopDeps;
  private readonly scheduler: Scheduler;
  private readonly batcher: ChangeBatcher;
  private readonly checks: SecretChecks;
  private readonly tokenKeeper: TokenKeeper;
  private readonly output: OutputRepair;
  private readonly outputPacer: OutputCheckPacer;
  private readonly files: RenderedFiles;
  /** the templates in use: an edited source replaces its entry */
  private readonly templates: PreparedTemplate[];
  private readonly stopping = new AbortController();
  private started = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(deps: RefreshLoopDeps) {
    this.d = deps;
    const rand = deps.rand ?? Math.random;
    const write = deps.write ?? writeAtomic;
    const stopping = this.stopping.signal;
    const call = <T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> => withCallSignal(stopping, fn);
    this.templates = [...deps.templates];
    this.scheduler = new Scheduler(deps.clock, (e) => this.d.logger.error({ err: asAgentError(e, 'refresh check').message }, 'refresh check crashed'));
    // each check on its own (a secret never waits for others due with it);
    // then the files, when a pass is due (output-check-pacer.ts: once per
    // interval, not per group of checks, or at once while a write is failing)
    this.scheduler.onEach(
      (c) => this.track(this.check(c)),
      () => this.outputPacer.afterChecks(() => this.checkOutputs(), this.output.guard.failing().length > 0),
    );
    const wait = deps.config.refresh.wait;
    this.batcher = new ChangeBatcher(deps.clock, { minMs: wait.min, ...(wait.max !== undefined ? { maxMs: wait.max } : {}) }, (names) => this.applyChanges(names), (e) =>
      this.d.logger.error({ err: asAgentError(e, 're-render').message }, 're-render crashed; files keep their last good content'),
    );
    const { health, metrics, logger, clock } = deps;
    this.output = new OutputRepair({ write, logger, metrics, health, clock, templates: () => this.templates, stopping });
    this.outputPacer = new OutputCheckPacer(clock, outputCheckPeriod(deps.config.refresh.interval, deps.config.refresh.jitter, Object.values(deps.config.secrets)));
    this.files = new RenderedFiles({ store: deps.store, output: this.output, write, notifiers: deps.notifiers, notifyOn: deps.notifyOn ?? 'files', health, metrics, logger, clock, stopping });
    this.checks = new SecretChecks({
      ...deps,
      rand,
      scheduler: this.scheduler,
      templates: () => this.templates,
      onChanged: (name) => this.batcher.add(name),
      withCallSignal: call,
      stopping,
    });
    this.tokenKeeper = new TokenKeeper({
      providers: deps.providers,
      scheduler: this.scheduler,
      metrics,
      logger,
      clock,
      rand,
      fraction: deps.config.refresh.leaseRenewFraction,
      backoff: deps.config.refresh.backoff,
      withCallSignal: call,
      stopping: () => stopping.aborted,
    });
  }

  /** schedule the first check of every secret and subscribe to push changes */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.checks.start();
    this.tokenKeeper.start();
    this.expectInitOutput();
    this.outputPacer.start(() => this.checkOutputs());
    this.d.health.markRendered(this.d.clock.now());
  }

  /** the files init wrote are what the guard keeps from now on */
  private expectInitOutput(): void {
    let rendered: RenderedFile[];
    try {
      rendered = renderAll(this.templates, this.d.store.templateData());
    } catch {
      return; // init rendered the same data; nothing to keep if it cannot now
    }
    this.output.expectInitOutput(rendered);
  }

  /** stat every rendered file and rewrite, from the last good render, those
   * that were deleted, changed by someone else, or not written (a failed
   * write). A restore of bytes the app already had runs no notifier; bytes it
   * never had (the write failed before) do. */
  checkOutputs(): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    return this.track(this.output.repair().then((late) => this.files.notifyLate(late)));
  }

  /** make these secrets (default: all) due now, e.g. when a provider's token
   * was replaced and leases obtained under it will be revoked */
  invalidate(reason: string, names?: string[]): void {
    this.checks.invalidate(reason, names);
  }

  /** an operator asked (SIGHUP): check every static secret now, and the
   * files after them. Leases are left to their clock: renewing one early
   * gains nothing and costs the backend a call. */
  recheck(): void {
    if (this.stopping.signal.aborted) return;
    const statics = this.checks.staticNames();
    this.d.logger.info({ secrets: statics }, 'checking static secrets and rendered files now');
    if (statics.length === 0) void this.checkOutputs();
    else this.outputPacer.wanted();
    for (const n of statics) this.scheduler.trigger(n, 'static');
  }

  /** when each secret is next checked (for logs and tests) */
  nextCheck(name: string): { at: number; kind: CheckKind } | undefined {
    return this.scheduler.nextAt(name);
  }

  /** resolves when no check and no re-render is running (tests: real file
   * I/O does not advance with a manual clock) */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    await this.batcher.idle();
  }

  /** stop timers and watches; waits for a re-render in progress */
  async stop(): Promise<void> {
    this.stopping.abort(new AgentError('unavailable', 'the agent is stopping'));
    this.scheduler.stop();
    this.outputPacer.stop();
    this.batcher.dispose();
    this.checks.stop();
    // a write in flight finishes; checks in flight end at the abort above
    await Promise.allSettled([...this.inFlight]);
    await this.batcher.idle();
  }

  /** a template source file changed on disk: re-read and re-check it like at
   * start; a good edit re-renders its file (notifiers run when its bytes
   * changed), a broken one is logged and the last good template stays */
  templateSourceChanged(sourcePath: string): Promise<void> {
    return this.track(this.reloadTemplates(sourcePath));
  }

  /** give every lease back (shutdown.revokeLeases); failures are logged, not thrown */
  revokeLeases(): Promise<void> {
    return revokeLeases(this.d);
  }

  private async reloadTemplates(sourcePath: string): Promise<void> {
    if (this.stopping.signal.aborted) return;
    const fresh = await reloadTemplateSource(sourcePath, { config: this.d.config, logger: this.d.logger, templates: this.templates });
    if (fresh) await this.files.update(fresh, [], { template: sourcePath });
  }

  private check(due: DueCheck): Promise<void> {
    if (due.kind === 'token') return this.tokenKeeper.check(TokenKeeper.providerOf(due.name)!);
    return this.checks.check(due);
  }

  private applyChanges(names: ReadonlySet<string>): Promise<void> {
    return this.files.update(dependents(this.templates, names), [...names].sort(), { secrets: [...names] });
  }

  private track(run: Promise<void>): Promise<void> {
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }
}
