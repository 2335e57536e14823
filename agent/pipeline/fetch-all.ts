// Fetches every declared secret concurrently (bounded per provider), retrying
// transient failures with backoff until the init deadline. Permanent failures
// (missing, denied) are not retried: retrying a 403 forever is the failure
// mode of other init containers that this agent exists to avoid.

import { AgentError, asAgentError } from '../errors.ts';
import type { AgentConfig, SecretConfig } from '../config/load.ts';
import type { Provider, SecretValue } from '../providers/provider.ts';
import type { Logger } from '../log/logger.ts';
import { formatDuration } from '../config/duration.ts';
import { nextBackoff } from '../scheduler/timing.ts';
import { Limiter } from './limiter.ts';
import { withCreatedAt } from './version-created.ts';

export interface FetchAllOptions {
  config: AgentConfig;
  providers: Map<string, Provider>;
  logger: Logger;
  /** epoch ms after which no new attempt starts */
  deadline: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  /** fetch only these secrets (default: all) */
  names?: string[];
}

/** one read of a secret from its backend (an attempt), for fetches_total */
export interface BackendRead {
  provider: string;
  secret: string;
  /** the error code of a failed attempt */
  errorCode?: string;
}

export interface FetchAllResult {
  values: Map<string, SecretValue>;
  failures: Map<string, AgentError>;
  /** every attempt, in the order they ended */
  reads: BackendRead[];
}

const ATTEMPT_TIMEOUT_MS = 30_000;

export async function fetchAll(opts: FetchAllOptions): Promise<FetchAllResult> {
  const { config, providers } = opts;
  const limiters = new Map<string, Limiter>();
  for (const name of providers.keys()) limiters.set(name, new Limiter(config.init.concurrency));
  const values = new Map<string, SecretValue>();
  const failures = new Map<string, AgentError>();
  const reads: BackendRead[] = [];
  const secrets = (opts.names ?? Object.keys(config.secrets)).map((n) => config.secrets[n]!);
  await Promise.all(
    secrets.map(async (secret) => {
      const provider = providers.get(secret.provider);
      if (!provider) {
        failures.set(secret.name, new AgentError('internal', `secrets.${secret.name}: provider ${secret.provider} was not opened`));
        return;
      }
      const result = await limiters.get(secret.provider)!.run(() => fetchWithRetry(secret, provider, opts, reads));
      if (result instanceof AgentError) failures.set(secret.name, result);
      else values.set(secret.name, result);
    }),
  );
  return { values, failures, reads };
}

async function fetchWithRetry(secret: SecretConfig, provider: Provider, opts: FetchAllOptions, reads: BackendRead[]): Promise<SecretValue | AgentError> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const ref = { name: secret.name, spec: secret.spec };
  const what = provider.describe(ref);
  const started = now();
  let last: AgentError | undefined;
  for (let attempt = 1; ; attempt++) {
    const remaining = opts.deadline - now();
    const signal = AbortSignal.timeout(Math.max(1, Math.min(remaining, ATTEMPT_TIMEOUT_MS)));
    try {
      const value = await withCreatedAt(secret, provider, ref, await provider.fetch(ref, signal), signal, opts.logger);
      reads.push({ provider: provider.name, secret: secret.name });
      opts.logger.info(
        { audit: true, secret: secret.name, provider: provider.name, ref: what, version: value.version, leased: value.lease !== undefined, attempts: attempt, durationMs: now() - started, outcome: 'ok' },
        'secret fetched',
      );
      return value;
    } catch (e) {
      let err = asAgentError(e, `${secret.name} (${what})`);
      if (signal.aborted) {
        // Our own deadline cut this attempt short: what the operator needs is
        // what was failing before, or that the backend never answered.
        err = last ?? new AgentError('unavailable', `${what}: no answer within ${formatDuration(Math.min(remaining, ATTEMPT_TIMEOUT_MS))}`, { provider: provider.name });
      }
      last = err;
      reads.push({ provider: provider.name, secret: secret.name, errorCode: err.code });
      const wait = Math.max(nextBackoff(attempt, opts.config.init.backoff.initial, opts.config.init.backoff.max, opts.random ?? Math.random), err.retryAfterMs ?? 0);
      const left = opts.deadline - now();
      // a backend that asks for more time than init has left gets its answer
      // now, not after sleeping out the rest of init.timeout
      const beyondDeadline = err.retryAfterMs !== undefined && err.retryAfterMs >= left;
      const retry = err.retryable && left > 0 && !beyondDeadline;
      opts.logger.warn(
        { audit: true, secret: secret.name, provider: provider.name, ref: what, attempts: attempt, outcome: err.code, retrying: retry, retryInMs: retry ? Math.min(wait, left) : undefined, err: err.message },
        retry ? 'secret fetch failed, will retry' : 'secret fetch failed',
      );
      if (!retry) {
        if (err.retryable && beyondDeadline && left > 0) {
          const secs = (ms: number) => `${Math.ceil(ms / 1000)} s`;
          return new AgentError('unavailable', `${err.message}; it asks for ${secs(err.retryAfterMs!)}, more than the ${secs(left)} left of init.timeout (${formatDuration(opts.config.init.timeout)}), so init stops now: raise init.timeout, or let the init container restart later`, {
            retryable: false,
            provider: provider.name,
            where: `secrets.${secret.name}`,
            cause: err,
          });
        }
        if (err.retryable) {
          const tries = `${attempt} attempt${attempt > 1 ? 's' : ''}`;
          return new AgentError('unavailable', `still failing after ${tries} in ${formatDuration(now() - started)} (init.timeout ${formatDuration(opts.config.init.timeout)}): ${err.message}`, {
            retryable: false,
            provider: provider.name,
            where: `secrets.${secret.name}`,
            cause: err,
          });
        }
        return err;
      }
      await sleep(Math.min(wait, left));
    }
  }
}
