// Pure timing decisions: given what we know and the time now, when do we look
// again and what do we do then. No timers here; `rand` is injected (a function
// returning [0,1)) so tests can sweep it.
//
//   nextStaticCheck(lastCheckAt, intervalMs, jitter, rand)     -> epoch ms
//   nextLeaseAction(lease, now, opts)                           -> renew | refetch, at
//   nextTokenAction(token, now, opts)                           -> renew-self | relogin | none, at
//   nextStaticSlot(slotAt, now, intervalMs, jitter, rand)       -> epoch ms, on the secret's own phase
//   slotNotBefore(slotAt, now, intervalMs)                      -> epoch ms, how soon that next slot may be
//   nextBackoff(attempt, initialMs, maxMs, rand)                -> ms (exponential, jittered)
//   retryDelay(attempt, initialMs, maxMs, rand)                 -> ms (full jitter first, then nextBackoff)
//   nextDecorrelatedBackoff(previousMs, initialMs, maxMs, rand) -> ms
//   pacedAt(requestedAt, now, pace)                            -> epoch ms, the floor applied
//
// Lease policy (the Vault agent / consul-template way):
// - renewable lease: renew at `fraction` of its TTL, pulled earlier by 10-20%
//   of that so many secrets obtained together do not renew together;
// - not renewable, or capped (a renewal came back shorter than what we asked
//   for, so max_ttl is near and renewing cannot extend it): fetch a fresh
//   value at 80-90% of the time the lease has left.

import type { Lease } from '../providers/provider.ts';

export type Rand = () => number;

/** the fraction of a lease's TTL at which to renew, before jitter */
export const DEFAULT_RENEW_FRACTION = 2 / 3;
/** renewal is pulled earlier by this share of the renewal delay (min, max) */
export const RENEW_JITTER = { min: 0.1, max: 0.2 } as const;
/** a refetch happens at this share of the remaining lease time (min, max) */
export const REFETCH_AT = { min: 0.8, max: 0.9 } as const;

function between(min: number, max: number, rand: Rand): number {
  const r = Math.min(Math.max(rand(), 0), 1);
  return min + (max - min) * r;
}

/** next poll of a static secret: interval spread by ±jitter (0.1 = ±10%) */
export function nextStaticCheck(lastCheckAt: number, intervalMs: number, jitter: number, rand: Rand): number {
  const j = Math.min(Math.max(jitter, 0), 1);
  return lastCheckAt + Math.round(intervalMs * between(1 - j, 1 + j, rand));
}

export interface LeaseTimingOptions {
  /** renew at this fraction of the TTL (refresh.leaseRenewFraction) */
  fraction?: number;
  rand: Rand;
  /** the TTL a renewal asks for: the lease's original duration. When the
   * current TTL is shorter, the backend capped the renewal at max TTL. */
  requestedTtlSeconds?: number;
}

export type LeaseAction =
  | { action: 'renew'; at: number; reason: string }
  | { action: 'refetch'; at: number; reason: string };

export function leaseExpiresAt(lease: Lease): number {
  return lease.obtainedAt + lease.ttlSeconds * 1000;
}

export function nextLeaseAction(lease: Lease, now: number, opts: LeaseTimingOptions): LeaseAction {
  const fraction = opts.fraction ?? DEFAULT_RENEW_FRACTION;
  const expiresAt = leaseExpiresAt(lease);
  const remaining = expiresAt - now;
  const refetchAt = (): number => now + Math.max(0, Math.floor(remaining * between(REFETCH_AT.min, REFETCH_AT.max, opts.rand)));

  if (lease.ttlSeconds <= 0 || remaining <= 0) return { action: 'refetch', at: now, reason: 'lease expired' };
  if (!lease.renewable) return { action: 'refetch', at: refetchAt(), reason: 'lease is not renewable' };
  if (opts.requestedTtlSeconds !== undefined && lease.ttlSeconds < opts.requestedTtlSeconds) {
    return { action: 'refetch', at: refetchAt(), reason: `renewal capped at ${lease.ttlSeconds}s (asked ${opts.requestedTtlSeconds}s): max TTL is near` };
  }
  const delay = lease.ttlSeconds * 1000 * fraction;
  const at = lease.obtainedAt + Math.floor(delay * (1 - between(RENEW_JITTER.min, RENEW_JITTER.max, opts.rand)));
  return { action: 'renew', at: Math.max(now, at), reason: 'renewable lease' };
}

export interface TokenInfo {
  /** seconds the token had left when obtainedAt was recorded; 0 = never expires */
  ttlSeconds: number;
  renewable: boolean;
  /** epoch ms of login or last renew-self */
  obtainedAt: number;
  /** the TTL the last renew-self asked for (usually the token's creation TTL) */
  requestedTtlSeconds?: number;
}

export type TokenAction =
  | { action: 'renew-self'; at: number; reason: string }
  | { action: 'relogin'; at: number; reason: string }
  | { action: 'none'; reason: string };

/** the Vault token's own lifecycle: same policy as leases, with "relogin" in
 * place of "refetch" and no action for tokens that never expire */
export function nextTokenAction(token: TokenInfo, now: number, opts: Omit<LeaseTimingOptions, 'requestedTtlSeconds'>): TokenAction {
  if (token.ttlSeconds === 0) return { action: 'none', reason: 'token does not expire' };
  const lease: Lease = { id: 'token', ttlSeconds: token.ttlSeconds, renewable: token.renewable, obtainedAt: token.obtainedAt };
  const a = nextLeaseAction(lease, now, { ...opts, requestedTtlSeconds: token.requestedTtlSeconds });
  if (a.action === 'renew') return { action: 'renew-self', at: a.at, reason: 'renewable token' };
  const reason = a.reason.replace('lease', 'token');
  return { action: 'relogin', at: a.at, reason };
}

/** exponential backoff with jitter: attempt 0 waits `initial`; attempt n waits
 * a uniform draw in [initial, min(max, initial * 2^n)]. The floor at `initial`
 * keeps a failing backend from being hit again at once. */
export function nextBackoff(attempt: number, initialMs: number, maxMs: number, rand: Rand): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, Math.min(attempt, 52)));
  const floor = Math.min(initialMs, ceiling);
  return Math.round(between(floor, ceiling, rand));
}

/** a retry after a failure: the first waits a uniform draw in [0, initial]
 * ("full jitter": agents that failed together, after an outage or a 429, do
 * not come back together); later ones back off as nextBackoff */
export function retryDelay(attempt: number, initialMs: number, maxMs: number, rand: Rand): number {
  if (attempt <= 0) return Math.round(between(0, Math.min(initialMs, maxMs), rand));
  return nextBackoff(attempt, initialMs, maxMs, rand);
}

/** a static secret's first check after start: a phase drawn once, uniform over
 * one interval (half to one and a half intervals from now: none right after
 * the init that just read it), so that one agent's secrets, and a fleet's
 * agents started together, are checked spread over the interval, not in one
 * burst */
export function firstStaticSlot(now: number, intervalMs: number, rand: Rand): number {
  return now + Math.round(intervalMs * between(0.5, 1.5, rand));
}

/** the regular check after the one planned at `slotAt`: one interval on, spread
 * by ±jitter, then moved by whole intervals until it lies at or after
 * `notBefore` (default: slotNotBefore). Counting from the planned time, not
 * from when a check ended, keeps the schedule under load (a late or slow
 * check does not push later ones), and a retry, a push or a recovery in
 * between does not move a secret off its phase. */
export function nextStaticSlot(slotAt: number, now: number, intervalMs: number, jitter: number, rand: Rand, notBefore = slotNotBefore(slotAt, now, intervalMs)): number {
  let at = nextStaticCheck(slotAt, intervalMs, jitter, rand);
  if (!(at >= notBefore)) at += Math.ceil((notBefore - at) / intervalMs) * intervalMs;
  return Number.isFinite(at) ? at : now + intervalMs;
}

/** How soon after now the next slot may fall, or it is skipped for the one
 * after. Within an interval of `slotAt` (the check of that slot just ended,
 * however late it ran): the static floor (MIN_CHECK_GAP_MS, at most half the
 * interval). Skipping the next slot whenever it was less than half an
 * interval away turned a check ending 0.5 s late at a 1 s interval into a
 * gap of 2 s: the p99 gap in bench/peers with both cores busy. Later than
 * that (a retry or a recovery after failures, a check more than an interval
 * late): half an interval, so that a check off the phase is not followed at
 * once by a regular one. One check per slot either way: a late agent sends
 * no more than one on time. */
export function slotNotBefore(slotAt: number, now: number, intervalMs: number): number {
  return now + (now - slotAt < intervalMs ? Math.min(MIN_CHECK_GAP_MS.static, intervalMs / 2) : intervalMs / 2);
}

/** checks that failed or were parked while a backend did not answer are retried,
 * once it answers again, spread over this window: one interval, within 1-30 s.
 * Prompt enough that values are fresh again within an interval; wide enough
 * that a fleet's retries add about its steady rate on top of the calls the
 * server held, which it answers all at once when it resumes. */
export function recoverySpreadMs(intervalMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.round(intervalMs)));
}

/** after an outage, the retries start this long after the first answer: a
 * stopped server answers the call every agent of a fleet held in one go
 * when it resumes, and retries drawn from that same moment on piled onto it
 * (measured with 50 agents: about 30 retries in the held calls' second, the
 * busiest second 2.2 times the steady rate) */
export const RECOVERY_HOLD_OFF_MS = 1_000;

/** when a check that was parked for waitedMs (Infinity: it failed) is retried
 * once its backend answers again: after an outage (parked longer than
 * SHORT_PARK_MS, or a failure), at a random point of the window that starts
 * RECOVERY_HOLD_OFF_MS after the answer; a check parked for less (behind one
 * call that was slow for a second or two) within the time it waited, so it
 * comes back about when it was due */
export function recoveryRetryAt(now: number, intervalMs: number, waitedMs: number, rand: Rand): number {
  if (waitedMs <= SHORT_PARK_MS) return now + Math.round(rand() * Math.max(0, waitedMs));
  return now + RECOVERY_HOLD_OFF_MS + Math.round(rand() * recoverySpreadMs(intervalMs));
}

/** a check parked this long or less waited behind one slow call (twice the
 * flow's stallMs), not through an outage: anything longer, even an outage
 * shorter than the interval, ends with every agent's held call answered at
 * once, and its retry must not land in that second */
export const SHORT_PARK_MS = 2_000;

/** "decorrelated jitter" (AWS architecture blog): next = min(max, rand in
 * [initial, previous * 3]); spreads retries of many clients better than
 * plain exponential when they failed at the same moment */
export function nextDecorrelatedBackoff(previousMs: number, initialMs: number, maxMs: number, rand: Rand): number {
  const upper = Math.max(initialMs, previousMs * 3);
  return Math.min(maxMs, Math.round(between(initialMs, upper, rand)));
}

/** one name's check never starts sooner than this after its previous start,
 * by kind. A static secret's pace is the operator's (refresh.interval, say 1s
 * with 10% jitter; a backoff from 300 ms): its floor sits below any of that,
 * so a configured pace is never changed. A lease's or token's pace comes from
 * numbers the backend sent: no sane lease needs renewing more than once a
 * second, and what asks for more (a TTL of 0.3 s, 0, -5, NaN) is backed off. */
export const MIN_CHECK_GAP_MS: Readonly<Record<'static' | 'leased' | 'token', number>> = { static: 250, leased: 1_000, token: 1_000 };
/** a name that keeps asking for its next check sooner than its floor
 * (a lease of 0 s, a token TTL of -5, a provider that reports a change on
 * every read) is held back further each time, doubling up to this */
export const MAX_CHECK_GAP_MS = 60_000;
/** no check is planned further ahead than this: a year is beyond any lease
 * (backend-numbers.ts caps them at 32 days) or sensible poll interval */
export const MAX_SCHEDULE_AHEAD_MS = 366 * 24 * 3600 * 1000;

/** what the scheduler remembers of one name's checks */
export interface CheckPace {
  /** epoch ms the last check of this name started; undefined before the first */
  lastStartAt: number | undefined;
  /** consecutive starts that had been asked for sooner than the floor */
  tooSoon: number;
}

/**
 * When a check asked for at `requestedAt` may run: the floor under every
 * refetch, renewal, re-login and poll, whoever asked. A time that is not a
 * number counts as "now"; one too far ahead is brought to MAX_SCHEDULE_AHEAD_MS.
 * A request sooner than minGapMs (MIN_CHECK_GAP_MS of its kind) after the
 * name's last start is a tight loop in the making: it waits minGapMs, then
 * twice that, four times... up to MAX_CHECK_GAP_MS after that start; one that
 * respects the floor resets it.
 */
export function pacedAt(requestedAt: number, now: number, pace: CheckPace, minGapMs: number): { at: number; tooSoon: number } {
  const wanted = Number.isNaN(requestedAt) ? now : Math.min(requestedAt, now + MAX_SCHEDULE_AHEAD_MS);
  if (pace.lastStartAt === undefined || wanted >= pace.lastStartAt + minGapMs) return { at: wanted, tooSoon: 0 };
  const tooSoon = pace.tooSoon + 1;
  const gap = Math.min(MAX_CHECK_GAP_MS, minGapMs * 2 ** Math.min(tooSoon - 1, 30));
  return { at: Math.max(wanted, pace.lastStartAt + gap), tooSoon };
}
