// The sidecar's refresh loop, after the init gate has filled the store and
// written every file once:
//
//   scheduler (one timer per secret) --due--> check:
//     static secret: provider.changed() when it has one (cheap), else fetch and
//                    compare; a provider's watch() makes the secret due at once
//     leased secret: renew at ~2/3 of the lease (timing.ts); when the lease is
//                    not renewable, capped at max TTL, or renewal failed: fetch a new one
//   a new value is validated (require rules, keys templates use) and
//   trial-rendered before it replaces the last good one; a bad value is
//   refused, logged by name, and retried with backoff: the files keep the last
//   good content
//   changed names --ChangeBatcher (refresh.wait)--> re-render only templates
//   that use them --writer (skips equal bytes)--> notifiers, only when a file's
//   bytes changed
//   Health and metrics follow every step.
//
//   provider login tokens (Vault): token-keeper.ts, on the same scheduler.
//
//   template sources edited on disk (templateSourceChanged): re-read and
//   re-checked like at start; a broken edit is logged and the last good
//   template and its file stay.
//
//   rendered files deleted or edited by someone else, or whose write failed
//   (full or read-only volume): after every round of checks (and on
//   checkOutputs(), SIGHUP) a stat of each file against what the agent left
//   behind; a difference is rewritten from the last good render
//   (../writer/output-guard.ts). Writes and these repairs never overlap.
//
// All time comes from the injected Clock, so the loop runs under ManualClock
// in tests. The loop never closes providers or the server: run.ts owns those.

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import { AgentError, asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { checkValues } from '../pipeline/check-values.ts';
import { Limiter } from '../pipeline/limiter.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { renderAll, type RenderedFile } from '../pipeline/render-all.ts';
import type { Provider, SecretRef, SecretValue } from '../providers/provider.ts';
import type { Notifier } from '../reload/notifier.ts';
import { runNotifiers } from '../reload/run-notifiers.ts';
import { ChangeBatcher } from '../scheduler/batcher.ts';
import type { Clock } from '../scheduler/clock.ts';
import { Scheduler, type CheckKind, type DueCheck } from '../scheduler/scheduler.ts';
import { leaseExpiresAt, nextBackoff, nextLeaseAction, nextStaticCheck } from '../scheduler/timing.ts';
import { TokenKeeper } from './token-keeper.ts';
import { prepareTemplates } from '../pipeline/prepare-templates.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import { sameData, type SecretStore } from '../store/store.ts';
import { writeAtomic, type WriteOptions, type WriteOutcome } from '../writer/atomic-write.ts';
import { writeOptionsFor } from '../pipeline/init.ts';
import { OutputGuard, stampOfSync, type Repair } from '../writer/output-guard.ts';

/** one provider call may take this long before it counts as failed */
const CALL_TIMEOUT_MS = 30_000;

export interface RefreshLoopDeps {
  config: AgentConfig;
  templates: PreparedTemplate[];
  providers: Map<string, Provider>;
  /** filled by the init gate */
  store: SecretStore;
  notifiers: Notifier[];
  health: Health;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  rand?: () => number;
  /** 'files' (default): notifiers run when a rendered file's bytes changed.
   * 'secrets': they run after every accepted change, files or not (the exec
   * wrapper, whose child reads secrets from its environment, not from files) */
  notifyOn?: 'files' | 'secrets';
  /** default: the atomic writer */
  write?: (destination: string, bytes: Buffer, opts: WriteOptions) => Promise<WriteOutcome>;
}

interface SecretState {
  /** consecutive failures, for backoff */
  failures: number;
  /** the TTL a renewal asks for: the lease's duration when it was obtained */
  requestedTtlSeconds?: number;
  /** for leased secrets: what the next due check does */
  leaseAction?: 'renew' | 'refetch';
  unwatch?: () => void;
}

export class RefreshLoop {
  private readonly d: RefreshLoopDeps;
  private readonly rand: () => number;
  private readonly scheduler: Scheduler;
  private readonly batcher: ChangeBatcher;
  private readonly state = new Map<string, SecretState>();
  private readonly tokenKeeper: TokenKeeper;
  /** the templates in use: an edited source replaces its entry */
  private readonly templates: PreparedTemplate[];
  private readonly limiters = new Map<string, Limiter>();
  private readonly stopping = new AbortController();
  private readonly write: (destination: string, bytes: Buffer, opts: WriteOptions) => Promise<WriteOutcome>;
  private started = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly guard: OutputGuard;
  /** file writes and repairs, one at a time: a repair must never put back
   * bytes that a render pass is replacing */
  private fileQueue: Promise<unknown> = Promise.resolve();
  /** destinations whose repair keeps failing: logged once per streak, not every cycle */
  private readonly failingOutputs = new Set<string>();

  constructor(deps: RefreshLoopDeps) {
    this.d = deps;
    this.rand = deps.rand ?? Math.random;
    this.write = deps.write ?? writeAtomic;
    this.templates = [...deps.templates];
    this.guard = new OutputGuard((dest, bytes, opts) => this.write(dest, bytes, opts));
    this.scheduler = new Scheduler(deps.clock, (e) => this.d.logger.error({ err: asAgentError(e, 'refresh check').message }, 'refresh check crashed'));
    this.scheduler.onDue((checks) => this.runChecks(checks));
    const wait = deps.config.refresh.wait;
    this.batcher = new ChangeBatcher(deps.clock, { minMs: wait.min, ...(wait.max !== undefined ? { maxMs: wait.max } : {}) }, (names) => this.applyChanges(names), (e) =>
      this.d.logger.error({ err: asAgentError(e, 're-render').message }, 're-render crashed; files keep their last good content'),
    );
    for (const name of deps.providers.keys()) this.limiters.set(name, new Limiter(deps.config.init.concurrency));
    this.tokenKeeper = new TokenKeeper({
      providers: deps.providers,
      scheduler: this.scheduler,
      metrics: deps.metrics,
      logger: deps.logger,
      clock: deps.clock,
      rand: this.rand,
      fraction: deps.config.refresh.leaseRenewFraction,
      backoff: deps.config.refresh.backoff,
      withCallSignal: (fn) => this.withCallSignal(fn),
      stopping: () => this.stopping.signal.aborted,
    });
  }

  /** schedule the first check of every secret and subscribe to push changes */
  start(): void {
    if (this.started) return;
    this.started = true;
    const { config, store, health } = this.d;
    for (const secret of Object.values(config.secrets)) {
      const entry = store.get(secret.name);
      if (!entry) continue;
      const st: SecretState = { failures: 0 };
      this.state.set(secret.name, st);
      this.recordFresh(secret, entry.value, entry.freshAt);
      if (entry.value.lease) st.requestedTtlSeconds = entry.value.lease.ttlSeconds;
      const provider = this.d.providers.get(secret.provider);
      if (provider?.watch) {
        st.unwatch = provider.watch(refOf(secret), () => {
          this.d.logger.debug({ secret: secret.name }, 'provider reported a change');
          this.scheduler.trigger(secret.name, entry.value.lease ? 'leased' : 'static');
        });
      }
      this.planNext(secret);
    }
    this.tokenKeeper.start();
    this.expectInitOutput();
    health.markRendered(this.d.clock.now());
  }

  /** the files init wrote are what the guard keeps from now on */
  private expectInitOutput(): void {
    let rendered: RenderedFile[];
    try {
      rendered = renderAll(this.templates, this.d.store.templateData());
    } catch {
      return; // init rendered the same data; nothing to keep if it cannot now
    }
    for (const r of rendered) {
      const c = r.template.config;
      this.guard.expect(c.destination, r.bytes, writeOptionsFor(c), stampOfSync(c.destination));
    }
  }

  /** stat every rendered file and rewrite, from the last good render, those
   * that were deleted, changed by someone else, or not written (a failed
   * write). A restore of bytes the app already had runs no notifier; bytes it
   * never had (the write failed before) do. */
  checkOutputs(): Promise<void> {
    if (this.stopping.signal.aborted) return Promise.resolve();
    const run = this.repairOutputs();
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }

  private async repairOutputs(): Promise<void> {
    const { logger, metrics, health } = this.d;
    const repairs = await this.exclusive(() => (this.stopping.signal.aborted ? Promise.resolve([] as Repair[]) : this.guard.check()));
    const late: string[] = [];
    const secrets = new Set<string>();
    for (const r of repairs) {
      if (!r.ok) {
        metrics.outputRestored(r.destination, r.reason, false);
        health.markOutput(r.destination, r.err, this.d.clock.now());
        const first = !this.failingOutputs.has(r.destination);
        this.failingOutputs.add(r.destination);
        logger[first ? 'error' : 'debug']({ file: r.destination, reason: r.reason, err: r.err.message }, 'restoring a rendered file failed; retrying at the next check');
        continue;
      }
      this.failingOutputs.delete(r.destination);
      health.markOutput(r.destination);
      if (r.outcome === 'unchanged') {
        logger.debug({ file: r.destination, reason: r.reason }, 'rendered file touched but its content and mode are as written');
        continue;
      }
      metrics.outputRestored(r.destination, r.reason, true);
      if (r.reason === 'unwritten') {
        logger.info({ file: r.destination, bytes: r.bytes.length, outcome: r.outcome }, 'rendered file written after an earlier failed write');
        if (r.outcome === 'written') {
          late.push(r.destination);
          for (const t of this.templates) if (t.config.destination === r.destination) for (const s of t.secrets) secrets.add(s);
        }
      } else {
        logger.warn({ file: r.destination, reason: r.reason, bytes: r.bytes.length, outcome: r.outcome }, `rendered file was ${r.reason === 'missing' ? 'deleted' : 'changed'} on disk; restored from the last good render`);
      }
    }
    // notifyOn 'secrets' (exec restart): the change was already notified when it was accepted
    if (late.length === 0 || this.d.notifyOn === 'secrets' || this.d.notifiers.length === 0 || this.stopping.signal.aborted) return;
    await this.notify([...secrets].sort(), late);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.fileQueue.then(fn, fn);
    this.fileQueue = run.catch(() => {});
    return run;
  }

  /** make these secrets (default: all) due now, e.g. when a provider's token
   * was replaced and leases obtained under it will be revoked */
  invalidate(reason: string, names?: string[]): void {
    const list = names ?? [...this.state.keys()];
    this.d.logger.warn({ reason, secrets: list }, 'refetching secrets: provider invalidated them');
    for (const n of list) {
      const st = this.state.get(n);
      if (!st) continue;
      st.leaseAction = 'refetch';
      this.scheduler.trigger(n);
    }
  }

  /** an operator asked (SIGHUP): check every static secret now, and the
   * files after them. Leases are left to their clock: renewing one early
   * gains nothing and costs the backend a call. */
  recheck(): void {
    if (this.stopping.signal.aborted) return;
    const statics = [...this.state.keys()].filter((n) => !this.d.store.get(n)?.value.lease);
    this.d.logger.info({ secrets: statics }, 'checking static secrets and rendered files now');
    if (statics.length === 0) void this.checkOutputs();
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
    this.batcher.dispose();
    for (const st of this.state.values()) st.unwatch?.();
    // a write in flight finishes; checks in flight end at the abort above
    await Promise.allSettled([...this.inFlight]);
    await this.batcher.idle();
  }

  // ---- scheduling --------------------------------------------------------

  private planNext(secret: SecretConfig): void {
    const entry = this.d.store.get(secret.name);
    const st = this.state.get(secret.name);
    if (!entry || !st) return;
    const now = this.d.clock.now();
    const lease = entry.value.lease;
    if (lease) {
      const a = nextLeaseAction(lease, now, { fraction: this.d.config.refresh.leaseRenewFraction, rand: this.rand, requestedTtlSeconds: st.requestedTtlSeconds });
      const provider = this.d.providers.get(secret.provider);
      st.leaseAction = a.action === 'renew' && provider?.renew ? 'renew' : 'refetch';
      this.d.logger.debug({ secret: secret.name, action: st.leaseAction, at: new Date(a.at).toISOString(), reason: a.reason }, 'lease check planned');
      this.scheduler.schedule(secret.name, a.at, 'leased');
      return;
    }
    const interval = secret.refreshMs ?? this.d.config.refresh.interval;
    this.scheduler.schedule(secret.name, nextStaticCheck(now, interval, this.d.config.refresh.jitter, this.rand), 'static');
  }

  private planRetry(secret: SecretConfig, kind: CheckKind, err?: AgentError): void {
    const st = this.state.get(secret.name)!;
    const { initial, max } = this.d.config.refresh.backoff;
    // a backend that said when to come back (Retry-After) is not asked sooner,
    // up to the backoff ceiling so a long hint cannot stall a secret for hours
    const now = this.d.clock.now();
    let at = now + Math.max(nextBackoff(st.failures - 1, initial, max, this.rand), Math.min(err?.retryAfterMs ?? 0, max));
    // A throttled backend is not asked again before the next planned check:
    // the backoff starts at seconds, which for a static secret would mean more
    // calls while throttled than when healthy. The files keep the last good
    // value meanwhile. A lease's clock keeps running, so leased checks (and
    // the token's) keep the backoff.
    if (err?.throttled && kind === 'static') {
      const interval = secret.refreshMs ?? this.d.config.refresh.interval;
      at = Math.max(at, nextStaticCheck(now, interval, this.d.config.refresh.jitter, this.rand));
    }
    this.scheduler.schedule(secret.name, at, kind);
  }

  // ---- checks ------------------------------------------------------------

  private async runChecks(checks: DueCheck[]): Promise<void> {
    const run = Promise.all(checks.map((c) => this.check(c))).then(() => {
      // then the files, on the same cycle: a cheap stat each. Not part of this
      // cycle's promise: the scheduler holds a name's next check until its
      // cycle has settled, and file I/O must not shift when secrets are checked
      void this.checkOutputs();
    });
    this.inFlight.add(run);
    try {
      await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  private async check(due: DueCheck): Promise<void> {
    if (due.kind === 'token') return this.tokenKeeper.check(TokenKeeper.providerOf(due.name)!);
    const secret = this.d.config.secrets[due.name];
    const provider = secret && this.d.providers.get(secret.provider);
    const st = this.state.get(due.name);
    if (!secret || !provider || !st || this.stopping.signal.aborted) return;
    const limiter = this.limiters.get(secret.provider)!;
    try {
      await limiter.run(async () => {
        if (due.kind === 'leased' && st.leaseAction === 'renew') await this.renew(secret, provider, st);
        else await this.refresh(secret, provider, st, due.kind);
      });
      st.failures = 0;
      this.planNext(secret);
    } catch (e) {
      if (this.stopping.signal.aborted) return;
      const err = asAgentError(e, `secrets.${secret.name}: refresh`);
      st.failures++;
      this.d.metrics.fetchFailed(provider.name, secret.name, err.code);
      this.d.health.markError(secret.name, err, this.d.clock.now());
      if (due.kind === 'leased') {
        // a renewal that failed (lease revoked, token replaced) is followed by a fresh lease
        if (st.leaseAction === 'renew') this.d.metrics.leaseRenewal(secret.name, 'failed');
        st.leaseAction = 'refetch';
      }
      this.d.logger.warn(
        { audit: true, secret: secret.name, provider: provider.name, ref: provider.describe(refOf(secret)), outcome: err.code, failures: st.failures, err: err.message },
        'secret refresh failed; files keep the last good value',
      );
      this.planRetry(secret, due.kind, err);
    }
  }

  /** a signal for one provider call: aborted when the agent stops or after
   * CALL_TIMEOUT_MS. Built by hand and released when the call ends: an
   * AbortSignal.any over AbortSignal.timeout stays alive (timer and listener
   * on the long-lived stop signal) for the full timeout after every call:
   * measured at ~0.5 kB of heap per check held for 30 s (bench/sidecar.ts). */
  private callSignal(): { signal: AbortSignal; release(): void } {
    const ac = new AbortController();
    const stop = this.stopping.signal;
    const onStop = (): void => ac.abort(stop.reason);
    stop.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => ac.abort(new AgentError('timeout', `a backend call took longer than ${CALL_TIMEOUT_MS / 1000}s`)), CALL_TIMEOUT_MS);
    timer.unref();
    return {
      signal: ac.signal,
      release: () => {
        clearTimeout(timer);
        stop.removeEventListener('abort', onStop);
      },
    };
  }

  private async withCallSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const call = this.callSignal();
    try {
      return await fn(call.signal);
    } finally {
      call.release();
    }
  }


  private async renew(secret: SecretConfig, provider: Provider, st: SecretState): Promise<void> {
    const entry = this.d.store.get(secret.name)!;
    const renewed = await this.withCallSignal((signal) => provider.renew!(refOf(secret), entry.value, signal));
    const now = this.d.clock.now();
    this.d.metrics.fetched(provider.name, secret.name);
    const asked = st.requestedTtlSeconds ?? entry.value.lease?.ttlSeconds;
    const capped = renewed.lease !== undefined && asked !== undefined && renewed.lease.ttlSeconds < asked;
    this.d.metrics.leaseRenewal(secret.name, capped ? 'capped' : 'renewed');
    this.d.logger.info({ audit: true, secret: secret.name, provider: provider.name, ttlSeconds: renewed.lease?.ttlSeconds, capped }, capped ? 'lease renewed, capped at max TTL: a new lease follows' : 'lease renewed');
    if (!sameData(entry.value.data, renewed.data)) {
      await this.accept(secret, renewed, now);
      return;
    }
    this.d.store.set(secret.name, renewed, now);
    this.recordFresh(secret, renewed, now);
  }

  private async refresh(secret: SecretConfig, provider: Provider, st: SecretState, kind: CheckKind): Promise<void> {
    const ref = refOf(secret);
    const entry = this.d.store.get(secret.name)!;
    if (kind === 'static' && provider.changed) {
      const changed = await this.withCallSignal((signal) => provider.changed!(ref, entry.value, signal));
      // a check that finds a change and the fetch after it are one read of the secret
      if (!changed) {
        this.d.metrics.fetched(provider.name, secret.name);
        const now = this.d.clock.now();
        this.d.store.touch(secret.name, now);
        this.recordFresh(secret, entry.value, now);
        return;
      }
    }
    const value = await this.withCallSignal((signal) => provider.fetch(ref, signal));
    const now = this.d.clock.now();
    this.d.metrics.fetched(provider.name, secret.name);
    if (value.lease) {
      st.requestedTtlSeconds = value.lease.ttlSeconds;
      if (kind === 'leased') this.d.metrics.leaseRenewal(secret.name, 'refetched');
    }
    if (sameData(entry.value.data, value.data)) {
      this.d.store.set(secret.name, value, now);
      this.recordFresh(secret, value, now);
      return;
    }
    await this.accept(secret, value, now);
  }

  /** a changed value: validate and trial-render, then store and batch it */
  private async accept(secret: SecretConfig, value: SecretValue, now: number): Promise<void> {
    const candidate = new Map<string, SecretValue>();
    for (const n of this.d.store.names()) candidate.set(n, this.d.store.get(n)!.value);
    candidate.set(secret.name, value);
    const problems = checkValues(this.d.config, this.templates, candidate, now, [secret.name]);
    if (problems.length) {
      throw new AgentError('validation', `${secret.name}: the new value breaks its rules, keeping the last good one: ${problems.map((p) => p.message).join('; ')}`, {
        problems: problems.map((p) => p.message),
        where: `secrets.${secret.name}`,
      });
    }
    const data: Record<string, Record<string, string>> = {};
    for (const [n, v] of candidate) data[n] = v.data;
    // throws (validation/template) when the value cannot be written in its file's format
    renderAll(this.dependents([secret.name]), data);
    this.d.store.set(secret.name, value, now);
    this.recordFresh(secret, value, now);
    this.d.logger.info({ audit: true, secret: secret.name, version: value.version, leased: value.lease !== undefined }, 'secret changed');
    this.batcher.add(secret.name);
  }

  private recordFresh(secret: SecretConfig, value: SecretValue, at: number): void {
    const leaseLeft = value.lease ? leaseExpiresAt(value.lease) - at : undefined;
    const ttls = [secret.ttlMs, leaseLeft].filter((x): x is number => x !== undefined);
    this.d.health.markFresh(secret.name, at, ttls.length ? Math.min(...ttls) : undefined);
    this.d.metrics.refreshed(secret.name, at);
    if (value.lease) this.d.metrics.expiresAt('lease', secret.name, leaseExpiresAt(value.lease));
    else this.d.metrics.clearExpiry('lease', secret.name);
  }

  // ---- re-render and reload ----------------------------------------------

  private dependents(names: Iterable<string>): PreparedTemplate[] {
    const set = new Set(names);
    return this.templates.filter((t) => [...t.secrets].some((s) => set.has(s)));
  }

  private async applyChanges(names: ReadonlySet<string>): Promise<void> {
    await this.renderWriteNotify(this.dependents(names), [...names].sort(), { secrets: [...names] });
  }

  /** render templates, write the files whose bytes changed, then notify */
  private async renderWriteNotify(templates: PreparedTemplate[], secrets: string[], logContext: Record<string, unknown>): Promise<void> {
    const { logger, metrics } = this.d;
    let rendered: RenderedFile[];
    try {
      rendered = renderAll(templates, this.d.store.templateData());
    } catch (e) {
      const err = asAgentError(e, 're-render');
      for (const t of templates) metrics.rendered(t.config.destination, 'failed');
      logger.error({ ...logContext, err: err.message, problems: err.problems }, 're-render failed; files keep their last good content');
      return;
    }
    const files: string[] = [];
    await this.exclusive(async () => {
      for (const r of rendered) {
        const c = r.template.config;
        const opts = writeOptionsFor(c);
        // the newest render is what the file must hold from now on, written or not
        this.guard.expect(c.destination, r.bytes, opts);
        try {
          const outcome = await this.write(c.destination, r.bytes, opts);
          await this.guard.delivered(c.destination);
          this.d.health.markOutput(c.destination);
          metrics.rendered(c.destination, outcome === 'unchanged' ? 'unchanged' : 'written');
          logger.info({ file: c.destination, bytes: r.bytes.length, outcome, secrets: [...r.template.secrets] }, `template ${outcome}`);
          if (outcome === 'written') files.push(c.destination);
        } catch (e) {
          const err = asAgentError(e, `writing ${c.destination}`);
          this.guard.undelivered(c.destination);
          this.d.health.markOutput(c.destination, err, this.d.clock.now());
          metrics.rendered(c.destination, 'failed');
          logger.error({ file: c.destination, err: err.message }, 'writing a re-rendered file failed; it keeps its last good content, and the write is retried at the next check');
        }
      }
    });
    const notify = (this.d.notifyOn === 'secrets' && secrets.length > 0) || files.length > 0;
    if (!notify || this.d.notifiers.length === 0 || this.stopping.signal.aborted) return;
    await this.notify(secrets, files);
  }

  private async notify(secrets: string[], files: string[]): Promise<void> {
    const { logger, metrics } = this.d;
    await runNotifiers(this.d.notifiers, { secrets, files }, logger, {
      signal: this.stopping.signal,
      now: () => this.d.clock.now(),
      onOutcome: (r) => metrics.reloaded(`reload[${r.index}]:${r.kind}`, r.ok),
    });
  }

  // ---- edited template sources ------------------------------------------

  /** a template source file changed on disk: re-read and re-check it like at
   * start; a good edit re-renders its file (notifiers run when its bytes
   * changed), a broken one is logged and the last good template stays */
  templateSourceChanged(sourcePath: string): Promise<void> {
    const run = this.reloadTemplates(sourcePath);
    this.inFlight.add(run);
    return run.finally(() => this.inFlight.delete(run));
  }

  private async reloadTemplates(sourcePath: string): Promise<void> {
    const indexes = this.templates.flatMap((t, i) => (t.config.sourcePath === sourcePath ? [i] : []));
    if (indexes.length === 0 || this.stopping.signal.aborted) return;
    let fresh: PreparedTemplate[];
    try {
      fresh = await prepareTemplates({ ...this.d.config, templates: indexes.map((i) => this.templates[i]!.config) });
    } catch (e) {
      const err = asAgentError(e, sourcePath);
      this.d.logger.error({ file: sourcePath, err: err.message, problems: err.problems }, 'edited template is broken; its file keeps the last good output');
      return;
    }
    indexes.forEach((at, k) => (this.templates[at] = fresh[k]!));
    this.d.logger.info({ file: sourcePath, templates: fresh.map((t) => t.config.label) }, 'template source changed; re-rendering');
    await this.renderWriteNotify(fresh, [], { template: sourcePath });
  }

  // ---- shutdown ----------------------------------------------------------

  /** give every lease back (shutdown.revokeLeases); failures are logged, not thrown */
  async revokeLeases(): Promise<void> {
    for (const name of this.d.store.names()) {
      const value = this.d.store.get(name)!.value;
      const secret = this.d.config.secrets[name];
      const provider = secret && this.d.providers.get(secret.provider);
      if (!value.lease || !provider?.revoke) continue;
      try {
        await provider.revoke(value);
        this.d.logger.info({ audit: true, secret: name, provider: provider.name }, 'lease revoked on shutdown');
      } catch (e) {
        this.d.logger.warn({ secret: name, provider: provider.name, err: asAgentError(e, `revoking ${name}`).message }, 'lease revoke on shutdown failed; it expires by its TTL');
      }
    }
  }
}

function refOf(secret: SecretConfig): SecretRef {
  return { name: secret.name, spec: secret.spec };
}
