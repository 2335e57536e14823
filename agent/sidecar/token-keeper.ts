// Provider login tokens (Vault) inside the refresh loop: one check per
// provider, named "token:<provider>" in the loop's scheduler. renew-self at
// ~2/3 of the token's TTL; log in again when it is not renewable or a renewal
// no longer extends it (nextTokenAction). A new token makes the provider
// invalidate the secrets leased under the old one; the loop refetches them at
// once, while the old token (and so its leases) still lives.

import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { isoOrUnknown } from '../providers/backend-numbers.ts';
import type { Provider } from '../providers/provider.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { nextBackoff, nextTokenAction } from '../scheduler/timing.ts';
import type { AgentMetrics } from '../server/metrics.ts';

/** scheduler names of token checks; ":" never appears in a secret's name */
const TOKEN_PREFIX = 'token:';

interface TokenState {
  failures: number;
  action: 'renew-self' | 'relogin';
}

export interface TokenKeeperDeps {
  providers: Map<string, Provider>;
  scheduler: Scheduler;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  rand: () => number;
  /** refresh.leaseRenewFraction */
  fraction: number;
  /** refresh.backoff */
  backoff: { initial: number; max: number };
  /** runs one provider call with the loop's call signal (timeout, stop) */
  withCallSignal<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T>;
  stopping(): boolean;
}

export class TokenKeeper {
  private readonly d: TokenKeeperDeps;
  private readonly tokens = new Map<string, TokenState>();

  constructor(deps: TokenKeeperDeps) {
    this.d = deps;
  }

  /** plan the first check of every provider that keeps a token */
  start(): void {
    for (const [name, provider] of this.d.providers) {
      if (!provider.tokenInfo || !provider.renewToken || !provider.relogin) continue;
      this.tokens.set(name, { failures: 0, action: 'renew-self' });
      this.plan(name);
    }
  }

  /** the provider a scheduler name belongs to, if it names a token check */
  static providerOf(checkName: string): string | undefined {
    return checkName.startsWith(TOKEN_PREFIX) ? checkName.slice(TOKEN_PREFIX.length) : undefined;
  }

  private plan(providerName: string): void {
    const provider = this.d.providers.get(providerName)!;
    const st = this.tokens.get(providerName)!;
    const info = provider.tokenInfo!();
    const now = this.d.clock.now();
    if (!info) {
      // never logged in: no secret uses this provider, so there is no token to keep
      this.d.logger.debug({ provider: providerName }, 'provider holds no token; no token checks');
      return;
    }
    if (info.ttlSeconds > 0) this.d.metrics.expiresAt('token', providerName, info.obtainedAt + info.ttlSeconds * 1000);
    else this.d.metrics.clearExpiry('token', providerName);
    const a = nextTokenAction(info, now, { fraction: this.d.fraction, rand: this.d.rand });
    if (a.action === 'none') {
      this.d.logger.debug({ provider: providerName, reason: a.reason }, 'token check not needed');
      return;
    }
    st.action = a.action;
    this.d.logger.debug({ provider: providerName, action: a.action, at: isoOrUnknown(new Date(a.at)), reason: a.reason }, 'token check planned');
    this.d.scheduler.schedule(TOKEN_PREFIX + providerName, a.at, 'token');
  }

  async check(providerName: string): Promise<void> {
    const provider = this.d.providers.get(providerName);
    const st = this.tokens.get(providerName);
    if (!provider || !st || this.d.stopping()) return;
    try {
      const info = await this.d.withCallSignal((signal) => (st.action === 'renew-self' ? provider.renewToken!(signal) : provider.relogin!(signal)));
      st.failures = 0;
      this.d.logger.info({ audit: true, provider: providerName, action: st.action, ttlSeconds: info.ttlSeconds, renewable: info.renewable }, st.action === 'renew-self' ? 'provider token renewed' : 'provider logged in again');
      this.plan(providerName);
    } catch (e) {
      if (this.d.stopping()) return;
      const err = asAgentError(e, `providers.${providerName}: token ${st.action}`);
      st.failures++;
      this.d.logger.warn({ provider: providerName, action: st.action, outcome: err.code, failures: st.failures, err: err.message }, 'provider token check failed; retrying with backoff');
      const { initial, max } = this.d.backoff;
      this.d.scheduler.schedule(TOKEN_PREFIX + providerName, this.d.clock.now() + nextBackoff(st.failures - 1, initial, max, this.d.rand), 'token');
    }
  }
}
