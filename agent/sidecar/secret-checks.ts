// The checks of each secret, and when each next happens:
//
//   static secret: provider.changed() when it has one (cheap), else fetch and
//                  compare; a provider's watch() makes the secret due at once
//   leased secret: renew at ~2/3 of the lease (timing.ts); when the lease is
//                  not renewable, capped at max TTL, or renewal failed: fetch a new one
//   issued secret: (a certificate from a write) fetched anew, i.e. issued
//                  again, at ~2/3 of its lifetime (reissue-timing.ts); never
//                  on the poll interval
//
// A new value is validated (require rules, keys templates use) and
// trial-rendered before it replaces the last good one; a bad value is refused,
// logged by name, and retried with backoff: the files keep the last good
// content. An accepted change is handed on (onChanged) to be rendered.
//
// Static secrets keep a phase of their own (timing.ts firstStaticSlot, drawn
// once): checks fall on that secret's slots, one interval apart (± jitter),
// whatever happens in between, so an agent's checks stay spread over the
// interval. Calls go through one BackendFlow per provider (at most
// init.concurrency in flight; checks parked while the backend does not
// answer; retried, spread over recoverySpreadMs, when it answers again).

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import { AgentError, asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { checkValues } from '../pipeline/check-values.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { renderAll } from '../pipeline/render-all.ts';
import { isoOrUnknown } from '../providers/backend-numbers.ts';
import type { Provider, SecretRef, SecretValue } from '../providers/provider.ts';
import { BackendFlow, STALL_MS, type CallOutcome } from '../scheduler/backend-flow.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { CheckKind, DueCheck, Scheduler } from '../scheduler/scheduler.ts';
import { firstStaticSlot, leaseExpiresAt, nextLeaseAction, nextStaticSlot, recoverySpreadMs, retryDelay } from '../scheduler/timing.ts';
import { nextReissueAt } from '../scheduler/reissue-timing.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import { sameData, type SecretStore } from '../store/store.ts';
import { dependents } from './rendered-files.ts';
import { withCreatedAt } from '../pipeline/version-created.ts';
import { ageFields, overdueMessage, rotationAge } from '../pipeline/rotation-age.ts';

export interface SecretChecksDeps {
  config: AgentConfig;
  providers: Map<string, Provider>;
  store: SecretStore;
  health: Health;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  rand: () => number;
  scheduler: Scheduler;
  /** the templates in use now, for trial renders */
  templates(): readonly PreparedTemplate[];
  /** an accepted new value: re-render what uses it */
  onChanged(name: string): void;
  /** runs one provider call with the loop's call signal (timeout, stop) */
  withCallSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  stopping: AbortSignal;
}

interface SecretState {
  /** consecutive failures, for backoff */
  failures: number;
  /** the TTL a renewal asks for: the lease's duration when it was obtained */
  requestedTtlSeconds?: number;
  /** for leased secrets: what the next due check does */
  leaseAction?: 'renew' | 'refetch';
  /** static secrets: the planned time of the last regular check (its phase) */
  slotAt?: number;
  /** waiting for its backend to answer again (epoch ms since when) */
  parkedAt?: number;
  /** a recovery already retried it in this run of failures: a secret whose
   * own path keeps failing while others answer goes on with its backoff */
  recoveryRetried?: boolean;
  unwatch?: () => void;
}

export class SecretChecks {
  private readonly d: SecretChecksDeps;
  private readonly state = new Map<string, SecretState>();
  /** secret -> createdAt of the version last reported overdue: one warning per
   * version, and one entry per secret however often it rotates */
  private readonly overdueReported = new Map<string, number | undefined>();
  /** per provider: init.concurrency calls at once, parking while it does not answer */
  private readonly flows = new Map<string, BackendFlow>();

  constructor(deps: SecretChecksDeps) {
    this.d = deps;
    for (const name of deps.providers.keys()) {
      this.flows.set(
        name,
        new BackendFlow(
          deps.clock,
          deps.rand,
          { maxInFlight: deps.config.init.concurrency, stallMs: STALL_MS, probeBackoff: deps.config.refresh.backoff },
          { probe: () => this.probe(name), recovered: (prompt) => this.recovered(name, prompt) },
        ),
      );
    }
  }

  /** schedule the first check of every secret in the store and subscribe to push changes */
  start(): void {
    const { config, store } = this.d;
    for (const secret of Object.values(config.secrets)) {
      const entry = store.get(secret.name);
      if (!entry) continue;
      const st: SecretState = { failures: 0 };
      this.state.set(secret.name, st);
      // init has warned of what is overdue already
      const age = rotationAge(secret, entry.value, this.d.clock.now());
      if (age?.overdue) this.overdueReported.set(secret.name, age.createdAt);
      this.recordFresh(secret, entry.value, entry.freshAt);
      if (entry.value.lease) st.requestedTtlSeconds = entry.value.lease.ttlSeconds;
      const provider = this.d.providers.get(secret.provider);
      if (provider?.watch) {
        st.unwatch = provider.watch(refOf(secret), () => {
          this.d.logger.debug({ secret: secret.name }, 'provider reported a change');
          this.d.scheduler.trigger(secret.name, this.kindOf(secret.name));
        });
      }
      // leases and issued values follow their own clock; static values get a phase in the interval
      if (this.kindOf(secret.name) === 'leased') this.planNext(secret);
      else {
        st.slotAt = firstStaticSlot(this.d.clock.now(), this.intervalOf(secret), this.d.rand);
        this.d.scheduler.schedule(secret.name, st.slotAt, 'static');
      }
    }
  }

  /** the secrets checked here */
  names(): string[] {
    return [...this.state.keys()];
  }

  /** those without a lease, and not issued on write */
  staticNames(): string[] {
    return this.names().filter((n) => {
      const v = this.d.store.get(n)?.value;
      return !v?.lease && !v?.issued;
    });
  }

  /** make these secrets (default: all) due now and fetch them anew */
  invalidate(reason: string, names?: string[]): void {
    const list = names ?? this.names();
    this.d.logger.warn({ reason, secrets: list }, 'refetching secrets: provider invalidated them');
    for (const n of list) {
      const st = this.state.get(n);
      if (!st) continue;
      st.leaseAction = 'refetch';
      this.d.scheduler.trigger(n);
    }
  }

  /** end push subscriptions and probe timers (the loop is stopping) */
  stop(): void {
    for (const st of this.state.values()) st.unwatch?.();
    for (const f of this.flows.values()) f.stop();
  }

  async check(due: DueCheck): Promise<void> {
    const secret = this.d.config.secrets[due.name];
    const provider = secret && this.d.providers.get(secret.provider);
    const st = this.state.get(due.name);
    if (!secret || !provider || !st || this.d.stopping.aborted) return;
    // leases and issued values expire on their own clock: not parked behind hung static checks
    const ticket = await this.flows.get(secret.provider)!.acquire(due.kind === 'leased');
    if (!ticket) {
      this.park(secret, due.kind, st);
      return;
    }
    if (this.d.stopping.aborted) return ticket.release('throttled');
    st.parkedAt = undefined;
    try {
      if (due.kind === 'leased' && st.leaseAction === 'renew') await this.renew(secret, provider, st);
      else await this.refresh(secret, provider, st, due.kind);
      st.failures = 0;
      st.recoveryRetried = false;
      ticket.release('answered');
      this.planNext(secret);
    } catch (e) {
      const err = asAgentError(e, `secrets.${secret.name}: refresh`);
      ticket.release(outcomeOf(err));
      if (this.d.stopping.aborted) return;
      st.failures++;
      this.d.metrics.fetchFailed(provider.name, secret.name, err.code);
      this.d.health.markError(secret.name, err, this.d.clock.now());
      if (due.kind === 'leased') {
        // a renewal that failed (lease revoked, token replaced) is followed by a
        // fresh lease; a transient failure (backend down, plugin error) is not:
        // the lease is still live, and giving it up would mint new credentials
        if (st.leaseAction === 'renew') this.d.metrics.leaseRenewal(secret.name, 'failed');
        const lease = this.d.store.get(secret.name)?.value.lease;
        const expired = !lease || this.d.clock.now() >= lease.obtainedAt + lease.ttlSeconds * 1000;
        if (!err.retryable || expired) st.leaseAction = 'refetch';
      }
      this.d.logger.warn(
        { audit: true, secret: secret.name, provider: provider.name, ref: provider.describe(refOf(secret)), outcome: err.code, failures: st.failures, err: err.message },
        'secret refresh failed; files keep the last good value',
      );
      this.planRetry(secret, due.kind, err);
    }
  }

  // ---- scheduling --------------------------------------------------------

  private planNext(secret: SecretConfig): void {
    const entry = this.d.store.get(secret.name);
    const st = this.state.get(secret.name);
    if (!entry || !st) return;
    const now = this.d.clock.now();
    const issued = entry.value.issued;
    if (issued) {
      // issued again, not renewed (a certificate's lease, if any, does not extend it)
      st.leaseAction = 'refetch';
      const at = nextReissueAt(issued, now, this.d.rand);
      this.d.logger.debug({ secret: secret.name, action: 'reissue', at: isoOrUnknown(new Date(at)), basis: issued.basis }, 're-issue planned');
      this.d.scheduler.schedule(secret.name, at, 'leased');
      return;
    }
    const lease = entry.value.lease;
    if (lease) {
      const a = nextLeaseAction(lease, now, { fraction: this.d.config.refresh.leaseRenewFraction, rand: this.d.rand, requestedTtlSeconds: st.requestedTtlSeconds });
      const provider = this.d.providers.get(secret.provider);
      st.leaseAction = a.action === 'renew' && provider?.renew ? 'renew' : 'refetch';
      this.d.logger.debug({ secret: secret.name, action: st.leaseAction, at: isoOrUnknown(new Date(a.at)), reason: a.reason }, 'lease check planned');
      this.d.scheduler.schedule(secret.name, a.at, 'leased');
      return;
    }
    st.slotAt = nextStaticSlot(st.slotAt ?? now, now, this.intervalOf(secret), this.d.config.refresh.jitter, this.d.rand);
    this.d.scheduler.schedule(secret.name, st.slotAt, 'static');
  }

  private intervalOf(secret: SecretConfig): number {
    return secret.refreshMs ?? this.d.config.refresh.interval;
  }

  /** its backend does not answer and a call is out: wait for it to answer
   * (recovered) or to be probed. The fallback timer, at the backoff ceiling,
   * is there so that nothing can leave a secret parked for good. */
  private park(secret: SecretConfig, kind: CheckKind, st: SecretState): void {
    if (this.d.stopping.aborted) return;
    // the call the flow parked this behind may have been answered in the
    // moment since (its recovered() then found nothing parked): go again now
    if (this.flows.get(secret.provider)?.answering) {
      this.d.scheduler.schedule(secret.name, this.d.clock.now(), kind);
      return;
    }
    st.parkedAt ??= this.d.clock.now();
    this.d.logger.debug({ secret: secret.name, provider: secret.provider }, 'backend not answering: check parked until it answers');
    this.d.scheduler.schedule(secret.name, this.d.clock.now() + this.d.config.refresh.backoff.max, kind);
  }

  /** a lease, or a value issued on write, is checked on its own clock ('leased'), never on the poll */
  private kindOf(name: string): CheckKind {
    const v = this.d.store.get(name)?.value;
    return v?.lease || v?.issued ? 'leased' : 'static';
  }

  /** the backend does not answer and nothing is in flight: send the check parked longest */
  private probe(provider: string): void {
    let oldest: [string, number] | undefined;
    for (const [name, st] of this.state) {
      if (st.parkedAt === undefined || this.d.config.secrets[name]?.provider !== provider) continue;
      if (!oldest || st.parkedAt < oldest[1]) oldest = [name, st.parkedAt];
    }
    if (oldest) this.d.scheduler.trigger(oldest[0], this.kindOf(oldest[0]));
  }

  /** the backend answers again: what was parked or failing is retried,
   * spread over recoverySpreadMs (prompt), or back on its own schedule when
   * the answer was a throttle. A check parked for less than that (a call
   * that was slow for a second or two on a busy node) is spread over the time
   * it waited instead: it comes back about when it was due, not seconds late */
  private recovered(provider: string, prompt: boolean): void {
    const now = this.d.clock.now();
    const retried: string[] = [];
    for (const [name, st] of this.state) {
      const secret = this.d.config.secrets[name];
      if (!secret || secret.provider !== provider || (st.parkedAt === undefined && st.failures === 0)) continue;
      if (st.parkedAt === undefined && st.recoveryRetried) continue;
      const kind = this.kindOf(name);
      if (prompt) {
        st.recoveryRetried = true;
        const window = Math.min(recoverySpreadMs(this.intervalOf(secret)), st.parkedAt === undefined ? Infinity : now - st.parkedAt);
        this.d.scheduler.schedule(name, now + Math.round(this.d.rand() * window), kind);
        retried.push(name);
      } else if (st.parkedAt !== undefined) {
        if (kind === 'static') this.planNext(secret);
        else this.d.scheduler.schedule(name, now + retryDelay(0, this.d.config.refresh.backoff.initial, this.d.config.refresh.backoff.max, this.d.rand), kind);
      }
      st.parkedAt = undefined;
    }
    if (retried.length) this.d.logger.info({ provider, secrets: retried }, 'backend answers again: retrying its failed checks now');
  }

  private planRetry(secret: SecretConfig, kind: CheckKind, err?: AgentError): void {
    const st = this.state.get(secret.name)!;
    const { initial, max } = this.d.config.refresh.backoff;
    // a backend that said when to come back (Retry-After) is not asked sooner,
    // up to the backoff ceiling so a long hint cannot stall a secret for hours
    const now = this.d.clock.now();
    // the first retry is full jitter (a fleet that failed together does not
    // come back together), later ones back off exponentially
    let at = now + Math.max(retryDelay(st.failures - 1, initial, max, this.d.rand), Math.min(err?.retryAfterMs ?? 0, max));
    // A throttled backend is not asked again before the secret's next slot
    // after that: the backoff starts at seconds, which for a static secret
    // would mean more calls while throttled than when healthy. The files keep
    // the last good value meanwhile. A lease's clock keeps running, so leased
    // checks (and the token's) keep the backoff.
    if (err?.throttled && kind === 'static') {
      const interval = this.intervalOf(secret);
      st.slotAt = nextStaticSlot(st.slotAt ?? now, now, interval, this.d.config.refresh.jitter, this.d.rand, Math.max(at, now + interval / 2));
      at = st.slotAt;
    }
    this.d.scheduler.schedule(secret.name, at, kind);
  }

  // ---- provider calls ----------------------------------------------------

  private async renew(secret: SecretConfig, provider: Provider, st: SecretState): Promise<void> {
    const entry = this.d.store.get(secret.name)!;
    const renewed = await this.d.withCallSignal((signal) => provider.renew!(refOf(secret), entry.value, signal));
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
      const changed = await this.d.withCallSignal((signal) => provider.changed!(ref, entry.value, signal));
      // a check that finds a change and the fetch after it are one read of the secret
      if (!changed) {
        this.d.metrics.fetched(provider.name, secret.name);
        const now = this.d.clock.now();
        this.d.store.touch(secret.name, now);
        this.recordFresh(secret, entry.value, now);
        return;
      }
    }
    const value = await this.d.withCallSignal(async (signal) => withCreatedAt(secret, provider, ref, await provider.fetch(ref, signal), signal, this.d.logger));
    const now = this.d.clock.now();
    this.d.metrics.fetched(provider.name, secret.name);
    if (value.lease) {
      st.requestedTtlSeconds = value.lease.ttlSeconds;
      if (kind === 'leased' && !value.issued) this.d.metrics.leaseRenewal(secret.name, 'refetched');
    }
    if (sameData(entry.value.data, value.data)) {
      this.d.store.set(secret.name, value, now);
      this.recordFresh(secret, value, now);
      return;
    }
    await this.accept(secret, value, now);
  }

  /** a changed value: validate and trial-render, then store and hand it on */
  private async accept(secret: SecretConfig, value: SecretValue, now: number): Promise<void> {
    const candidate = new Map<string, SecretValue>();
    for (const n of this.d.store.names()) candidate.set(n, this.d.store.get(n)!.value);
    candidate.set(secret.name, value);
    const templates = [...this.d.templates()];
    const problems = checkValues(this.d.config, templates, candidate, now, [secret.name]);
    if (problems.length) {
      throw new AgentError('validation', `${secret.name}: the new value breaks its rules, keeping the last good one: ${problems.map((p) => p.message).join('; ')}`, {
        problems: problems.map((p) => p.message),
        where: `secrets.${secret.name}`,
      });
    }
    const data: Record<string, Record<string, string>> = {};
    for (const [n, v] of candidate) data[n] = v.data;
    // throws (validation/template) when the value cannot be written in its file's format
    renderAll(dependents(templates, [secret.name]), data);
    this.d.store.set(secret.name, value, now);
    this.recordFresh(secret, value, now);
    this.d.logger.info({ audit: true, secret: secret.name, version: value.version, leased: value.lease !== undefined }, 'secret changed');
    this.d.onChanged(secret.name);
  }

  private recordFresh(secret: SecretConfig, value: SecretValue, at: number): void {
    const leaseEnd = value.lease ? leaseExpiresAt(value.lease) : undefined;
    // past a lease's end or an issued certificate's NotAfter the value is no
    // longer valid (not ready); one that could not be renewed or issued again
    // is stale then too
    const validUntil = leaseEnd ?? value.issued?.until;
    const ttls = [secret.ttlMs, leaseEnd === undefined ? undefined : leaseEnd - at, value.issued ? value.issued.until - at : undefined].filter((x): x is number => x !== undefined);
    this.d.health.markFresh(secret.name, at, ttls.length ? Math.min(...ttls) : undefined, validUntil);
    this.d.metrics.refreshed(secret.name, at);
    this.d.health.markAge(secret.name, value.createdAt, secret.maxAgeMs);
    // a version turns overdue with time alone: each check looks again, and warns once per version
    const age = rotationAge(secret, value, this.d.clock.now());
    if (age?.overdue && this.overdueReported.get(secret.name) !== age.createdAt) {
      this.overdueReported.set(secret.name, age.createdAt);
      this.d.logger.warn({ ...ageFields(age), outcome: 'rotation-overdue' }, overdueMessage(age));
    }
    if (leaseEnd !== undefined) this.d.metrics.expiresAt('lease', secret.name, leaseEnd);
    else this.d.metrics.clearExpiry('lease', secret.name);
    if (value.issued?.basis === 'certificate') this.d.metrics.expiresAt('certificate', secret.name, value.issued.until);
  }
}

/** what a failed call tells the flow about its backend */
function outcomeOf(err: AgentError): CallOutcome {
  if (err.throttled) return 'throttled';
  if (err.code === 'timeout' || (err.code === 'unavailable' && err.retryable)) return 'unreachable';
  return 'answered';
}

export function refOf(secret: SecretConfig): SecretRef {
  return { name: secret.name, spec: secret.spec };
}
