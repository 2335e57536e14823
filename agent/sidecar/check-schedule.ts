// When each secret's next check happens:
//
//   static secret: on a phase of its own (timing.ts firstStaticSlot, drawn
//                  once), one interval apart ± jitter, whatever happens in between
//   leased secret: renew at ~2/3 of the lease (timing.ts); refetch when the
//                  lease is not renewable, capped at max TTL, or renewal failed
//   issued secret: issued again at ~2/3 of its lifetime (reissue-timing.ts)
//
// and after a failure (backoff, first step full jitter; a throttled static
// check waits for its next slot), while its backend does not answer (parked
// until it answers, or probed), and when it answers again (retried, spread
// over one interval, a second after the first answer). Only plans: the checks themselves run in
// secret-checks.ts.

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import type { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { isoOrUnknown } from '../providers/backend-numbers.ts';
import type { Provider } from '../providers/provider.ts';
import type { Clock } from '../scheduler/clock.ts';
import { nextReissueAt } from '../scheduler/reissue-timing.ts';
import type { CheckKind, Scheduler } from '../scheduler/scheduler.ts';
import { firstStaticSlot, nextLeaseAction, nextStaticSlot, recoveryRetryAt, retryDelay } from '../scheduler/timing.ts';
import type { SecretStore } from '../store/store.ts';
import type { SecretState } from './check-state.ts';

export interface CheckScheduleDeps {
  config: AgentConfig;
  providers: Map<string, Provider>;
  store: SecretStore;
  scheduler: Scheduler;
  clock: Clock;
  rand: () => number;
  logger: Logger;
}

export class CheckSchedule {
  private readonly d: CheckScheduleDeps;
  private readonly state: Map<string, SecretState>;

  constructor(deps: CheckScheduleDeps, state: Map<string, SecretState>) {
    this.d = deps;
    this.state = state;
  }

  /** the first check after start: leases and issued values follow their own
   * clock; static values get a phase in the interval */
  planFirst(secret: SecretConfig, st: SecretState): void {
    if (this.kindOf(secret.name) === 'leased') this.planNext(secret);
    else {
      st.slotAt = firstStaticSlot(this.d.clock.now(), this.intervalOf(secret), this.d.rand);
      this.d.scheduler.schedule(secret.name, st.slotAt, 'static');
    }
  }

  /** after a check that succeeded */
  planNext(secret: SecretConfig): void {
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

  intervalOf(secret: SecretConfig): number {
    return secret.refreshMs ?? this.d.config.refresh.interval;
  }

  /** its backend does not answer and a call is out: wait for it to answer
   * (recovered) or to be probed. The fallback timer, at the backoff ceiling,
   * is there so that nothing can leave a secret parked for good.
   * answering: whether the backend counts as answering by now */
  park(secret: SecretConfig, kind: CheckKind, st: SecretState, answering: boolean): void {
    // the call the flow parked this behind may have been answered in the
    // moment since (its recovered() then found nothing parked): go again now
    if (answering) {
      this.d.scheduler.schedule(secret.name, this.d.clock.now(), kind);
      return;
    }
    st.parkedAt ??= this.d.clock.now();
    this.d.logger.debug({ secret: secret.name, provider: secret.provider }, 'backend not answering: check parked until it answers');
    this.d.scheduler.schedule(secret.name, this.d.clock.now() + this.d.config.refresh.backoff.max, kind);
  }

  /** a lease, or a value issued on write, is checked on its own clock ('leased'), never on the poll */
  kindOf(name: string): CheckKind {
    const v = this.d.store.get(name)?.value;
    return v?.lease || v?.issued ? 'leased' : 'static';
  }

  /** the backend does not answer and nothing is in flight: send the check parked longest */
  probe(provider: string): void {
    let oldest: [string, number] | undefined;
    for (const [name, st] of this.state) {
      if (st.parkedAt === undefined || this.d.config.secrets[name]?.provider !== provider) continue;
      if (!oldest || st.parkedAt < oldest[1]) oldest = [name, st.parkedAt];
    }
    if (oldest) this.d.scheduler.trigger(oldest[0], this.kindOf(oldest[0]));
  }

  /** the backend answers again: what was parked or failing is retried,
   * spread over the recovery window starting a second after this answer
   * (prompt; timing.ts recoveryRetryAt), or back on its own schedule when
   * the answer was a throttle. A check parked for less than that (a call
   * that was slow for a second or two on a busy node) is spread over the time
   * it waited instead: it comes back about when it was due, not seconds late */
  recovered(provider: string, prompt: boolean): void {
    const now = this.d.clock.now();
    const retried: string[] = [];
    for (const [name, st] of this.state) {
      const secret = this.d.config.secrets[name];
      if (!secret || secret.provider !== provider || (st.parkedAt === undefined && st.failures === 0)) continue;
      if (st.parkedAt === undefined && st.recoveryRetried) continue;
      const kind = this.kindOf(name);
      if (prompt) {
        st.recoveryRetried = true;
        this.d.scheduler.schedule(name, recoveryRetryAt(now, this.intervalOf(secret), st.parkedAt === undefined ? Infinity : now - st.parkedAt, this.d.rand), kind);
        retried.push(name);
      } else if (st.parkedAt !== undefined) {
        if (kind === 'static') this.planNext(secret);
        else this.d.scheduler.schedule(name, now + retryDelay(0, this.d.config.refresh.backoff.initial, this.d.config.refresh.backoff.max, this.d.rand), kind);
      }
      st.parkedAt = undefined;
    }
    if (retried.length) this.d.logger.info({ provider, secrets: retried }, 'backend answers again: retrying its failed checks now');
  }

  /** after a check that failed */
  planRetry(secret: SecretConfig, kind: CheckKind, err?: AgentError): void {
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
}
