// Each secret's check, from its due time to its next: take a slot on the
// provider's flow (or park), make the call, hand the result on, plan the
// next check or the retry. The parts, one job each:
//
//   check-schedule.ts   when each next check happens (phases, leases,
//                       backoff, parking, recovery)
//   provider-calls.ts   the calls, through one BackendFlow per provider
//   secret-results.ts   what a result does: stored as fresh, or a change
//                       validated, trial-rendered and handed on (onChanged)
//   check-state.ts      what is remembered of each secret between checks
//
// A failed check is logged by name and retried with backoff: the files keep
// the last good content.

import type { AgentConfig } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import type { Provider } from '../providers/provider.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { DueCheck, Scheduler } from '../scheduler/scheduler.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import type { SecretStore } from '../store/store.ts';
import { CheckSchedule } from './check-schedule.ts';
import type { SecretState } from './check-state.ts';
import { outcomeOf, ProviderCalls, refOf } from './provider-calls.ts';
import { SecretResults } from './secret-results.ts';

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

export class SecretChecks {
  private readonly d: SecretChecksDeps;
  private readonly state = new Map<string, SecretState>();
  private readonly schedule: CheckSchedule;
  private readonly results: SecretResults;
  private readonly calls: ProviderCalls;

  constructor(deps: SecretChecksDeps) {
    this.d = deps;
    this.schedule = new CheckSchedule(deps, this.state);
    this.results = new SecretResults(deps);
    this.calls = new ProviderCalls(deps, this.results, {
      probe: (provider) => this.schedule.probe(provider),
      recovered: (provider, prompt) => this.schedule.recovered(provider, prompt),
    });
  }

  /** schedule the first check of every secret in the store and subscribe to push changes */
  start(): void {
    const { config, store } = this.d;
    for (const secret of Object.values(config.secrets)) {
      const entry = store.get(secret.name);
      if (!entry) continue;
      const st: SecretState = { failures: 0 };
      this.state.set(secret.name, st);
      this.results.recordInitial(secret, entry.value, entry.freshAt);
      if (entry.value.lease) st.requestedTtlSeconds = entry.value.lease.ttlSeconds;
      const provider = this.d.providers.get(secret.provider);
      if (provider?.watch) {
        st.unwatch = provider.watch(refOf(secret), () => {
          this.d.logger.debug({ secret: secret.name }, 'provider reported a change');
          this.d.scheduler.trigger(secret.name, this.schedule.kindOf(secret.name));
        });
      }
      this.schedule.planFirst(secret, st);
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
    this.calls.stop();
  }

  async check(due: DueCheck): Promise<void> {
    const secret = this.d.config.secrets[due.name];
    const provider = secret && this.d.providers.get(secret.provider);
    const st = this.state.get(due.name);
    if (!secret || !provider || !st || this.d.stopping.aborted) return;
    // leases and issued values expire on their own clock: not parked behind hung static checks
    const ticket = await this.calls.acquire(secret.provider, due.kind === 'leased');
    if (!ticket) {
      if (!this.d.stopping.aborted) this.schedule.park(secret, due.kind, st, this.calls.answering(secret.provider));
      return;
    }
    if (this.d.stopping.aborted) return ticket.release('throttled');
    st.parkedAt = undefined;
    try {
      if (due.kind === 'leased' && st.leaseAction === 'renew') await this.calls.renew(secret, provider, st);
      else await this.calls.refresh(secret, provider, st, due.kind);
      st.failures = 0;
      st.recoveryRetried = false;
      ticket.release('answered');
      this.schedule.planNext(secret);
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
      this.schedule.planRetry(secret, due.kind, err);
    }
  }
}
