// Numbers and dates in backend answers, checked before anything plans on
// them. A backend (or whatever answers in its place) can send a TTL of 0, -5,
// 1.5, 1e30, 1e999 (JSON.parse makes that Infinity) or "soon"; taken as they
// come, such values schedule a check in the past (a tight loop of refetches,
// each one a new database user), a timer Node clamps to 1 ms, or a Date that
// throws when printed. Pure.
//
//   leaseSeconds(raw)        a lease's duration: whole seconds in [MIN, MAX]
//   tokenTtlSeconds(raw)     the same, where 0 means "never expires"
//   positiveVersion(raw)     a KV version: a safe integer >= 1
//   isoOrUnknown(date)       a date for a message, never a RangeError

/** a lease or token TTL is at least this long: Vault issues whole seconds,
 * and below one second no renewal can be planned at all */
export const MIN_TTL_SECONDS = 1;
/** and at most this long: Vault's default system max TTL (768h, 32 days).
 * A longer lease is renewed sooner than needed, which costs one call; a lease
 * believed longer than it is would expire under the application. */
export const MAX_TTL_SECONDS = 32 * 24 * 3600;
/** a TTL that is missing, not a number, zero or negative is taken as this:
 * five minutes, the duration consul-template assumes for a lease that states
 * none. Planned on it, a broken answer costs one call every few minutes. */
export const UNKNOWN_TTL_SECONDS = 300;

export interface CheckedSeconds {
  seconds: number;
  /** what was wrong with the raw value, for a warning; absent when it was fine */
  problem?: string;
}

function shown(raw: unknown): string {
  if (typeof raw === 'number') return String(raw);
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
  return raw === null ? 'null' : Array.isArray(raw) ? 'a list' : typeof raw;
}

/** a TTL whose raw value is known to be neither 0-as-never nor missing */
function boundedSeconds(raw: unknown): CheckedSeconds {
  if (typeof raw !== 'number' || Number.isNaN(raw) || raw <= 0) {
    return { seconds: UNKNOWN_TTL_SECONDS, problem: `${shown(raw)} is not a positive number of seconds; taken as ${UNKNOWN_TTL_SECONDS}s` };
  }
  if (raw > MAX_TTL_SECONDS) return { seconds: MAX_TTL_SECONDS, problem: `${shown(raw)}s is beyond ${MAX_TTL_SECONDS}s (32 days); taken as ${MAX_TTL_SECONDS}s` };
  if (!Number.isInteger(raw)) {
    const seconds = Math.max(MIN_TTL_SECONDS, Math.floor(raw));
    return { seconds, problem: `${shown(raw)} is not whole seconds; taken as ${seconds}s` };
  }
  return { seconds: raw };
}

/** a lease's duration (lease_duration of a dynamic secret or a renewal) */
export function leaseSeconds(raw: unknown): CheckedSeconds {
  return boundedSeconds(raw);
}

/** a token's TTL (lookup-self ttl, an auth block's lease_duration): exactly 0
 * is Vault's "never expires" (a root token) and stays 0 */
export function tokenTtlSeconds(raw: unknown): CheckedSeconds {
  return raw === 0 ? { seconds: 0 } : boundedSeconds(raw);
}

/** a version number (KV v2): a safe integer >= 1, else undefined */
export function positiveVersion(raw: unknown): number | undefined {
  return typeof raw === 'number' && Number.isSafeInteger(raw) && raw >= 1 ? raw : undefined;
}

/** an ISO date for a message; "an unreadable date" for an Invalid Date
 * (toISOString would throw a RangeError) */
export function isoOrUnknown(date: Date | undefined): string {
  return date !== undefined && Number.isFinite(date.getTime()) ? date.toISOString() : 'an unreadable date';
}
