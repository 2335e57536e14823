// The calls a check makes to its provider, through one BackendFlow per
// provider (at most init.concurrency in flight; checks parked while the
// backend does not answer, see scheduler/backend-flow.ts):
//
//   static secret: provider.changed() when it has one (cheap), else fetch and
//                  compare
//   leased secret: renew, or fetch a new lease (leaseAction)
//   issued secret: fetched anew, i.e. issued again
//
// What a result then does to the store is secret-results.ts's job.

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import type { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { withCreatedAt } from '../pipeline/version-created.ts';
import type { Provider, SecretRef } from '../providers/provider.ts';
import { BackendFlow, STALL_MS, type CallOutcome, type FlowTicket } from '../scheduler/backend-flow.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { CheckKind } from '../scheduler/scheduler.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import type { SecretStore } from '../store/store.ts';
import type { SecretState } from './check-state.ts';
import type { SecretResults } from './secret-results.ts';

export interface ProviderCallsDeps {
  config: AgentConfig;
  providers: Map<string, Provider>;
  store: SecretStore;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  rand: () => number;
  /** runs one provider call with the loop's call signal (timeout, stop) */
  withCallSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

export interface FlowEvents {
  /** a provider's backend does not answer and nothing is in flight: send one parked check */
  probe(provider: string): void;
  /** it answers again: retry what was parked or failing (prompt), or put it back on its schedule */
  recovered(provider: string, prompt: boolean): void;
}

export class ProviderCalls {
  private readonly d: ProviderCallsDeps;
  private readonly results: SecretResults;
  /** per provider: init.concurrency calls at once, parking while it does not answer */
  private readonly flows = new Map<string, BackendFlow>();

  constructor(deps: ProviderCallsDeps, results: SecretResults, events: FlowEvents) {
    this.d = deps;
    this.results = results;
    for (const name of deps.providers.keys()) {
      this.flows.set(
        name,
        new BackendFlow(
          deps.clock,
          deps.rand,
          { maxInFlight: deps.config.init.concurrency, stallMs: STALL_MS, probeBackoff: deps.config.refresh.backoff },
          { probe: () => events.probe(name), recovered: (prompt) => events.recovered(name, prompt) },
        ),
      );
    }
  }

  /** a ticket for one call to this provider, or undefined: park the check.
   * urgent: a lease or an issued value, on its own clock */
  acquire(provider: string, urgent: boolean): Promise<FlowTicket | undefined> {
    return this.flows.get(provider)!.acquire(urgent);
  }

  /** whether the provider's backend counts as answering now */
  answering(provider: string): boolean {
    return this.flows.get(provider)?.answering ?? false;
  }

  /** stop the probe timers (the loop is stopping) */
  stop(): void {
    for (const f of this.flows.values()) f.stop();
  }

  async renew(secret: SecretConfig, provider: Provider, st: SecretState): Promise<void> {
    const entry = this.d.store.get(secret.name)!;
    const renewed = await this.d.withCallSignal((signal) => provider.renew!(refOf(secret), entry.value, signal));
    const now = this.d.clock.now();
    this.d.metrics.fetched(provider.name, secret.name);
    const asked = st.requestedTtlSeconds ?? entry.value.lease?.ttlSeconds;
    const capped = renewed.lease !== undefined && asked !== undefined && renewed.lease.ttlSeconds < asked;
    this.d.metrics.leaseRenewal(secret.name, capped ? 'capped' : 'renewed');
    this.d.logger.info({ audit: true, secret: secret.name, provider: provider.name, ttlSeconds: renewed.lease?.ttlSeconds, capped }, capped ? 'lease renewed, capped at max TTL: a new lease follows' : 'lease renewed');
    await this.results.fetched(secret, entry.value, renewed, now);
  }

  async refresh(secret: SecretConfig, provider: Provider, st: SecretState, kind: CheckKind): Promise<void> {
    const ref = refOf(secret);
    const entry = this.d.store.get(secret.name)!;
    if (kind === 'static' && provider.changed) {
      const changed = await this.d.withCallSignal((signal) => provider.changed!(ref, entry.value, signal));
      // a check that finds a change and the fetch after it are one read of the secret
      if (!changed) {
        this.d.metrics.fetched(provider.name, secret.name);
        this.results.unchanged(secret, entry.value, this.d.clock.now());
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
    await this.results.fetched(secret, entry.value, value, now);
  }
}

/** what a failed call tells the flow about its backend */
export function outcomeOf(err: AgentError): CallOutcome {
  if (err.throttled) return 'throttled';
  if (err.code === 'timeout' || (err.code === 'unavailable' && err.retryable)) return 'unreachable';
  return 'answered';
}

export function refOf(secret: SecretConfig): SecretRef {
  return { name: secret.name, spec: secret.spec };
}
