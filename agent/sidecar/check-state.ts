// What the refresh loop remembers of each secret between its checks: the
// failures behind its backoff, what its lease needs next, its phase, and
// whether it waits for its backend to answer again. Shared by the modules
// that schedule checks (check-schedule.ts), make the calls (provider-calls.ts)
// and run them (secret-checks.ts).

export interface SecretState {
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
