// When a backend says the current version of a secret was made (KV v2
// created_time, AWS CreatedDate, Azure attributes.updated, GCP createTime, a
// file's mtime), checked before a rotation-age policy believes it. A backend,
// or whatever answers in its place, can send a date in the future (which
// would make an old secret look new for as long as it likes), one before
// any secret store existed, a number too large for a Date, or text. None of
// those is an age: the secret's age is then unknown, and said so. Pure.

/** clocks disagree: a version made "in the future" by less than this is taken as made now */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** no secret store in use was around before this (2000-01-01): an earlier date is a wrong field or a zero value */
export const EARLIEST_MS = Date.UTC(2000, 0, 1);

export interface CheckedTime {
  /** epoch ms; absent when the raw value is not a believable creation time */
  at?: number;
  /** what was wrong, for a warning; never the raw text beyond 40 characters */
  problem?: string;
}

function shown(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
  if (typeof raw === 'number') return String(raw);
  if (raw instanceof Date) return 'a Date';
  return raw === null ? 'null' : Array.isArray(raw) ? 'a list' : typeof raw;
}

/** epoch ms of a Date, an RFC 3339 text, or epoch ms as a number */
function epochMs(raw: unknown): number {
  if (raw instanceof Date) return raw.getTime();
  if (typeof raw === 'number') return raw;
  // RFC 3339 only: Date.parse also takes "1", "March 7" and other guesses
  if (typeof raw === 'string' && raw.length <= 64 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
    // JavaScript dates keep milliseconds: Vault's nanoseconds are cut to 3 digits
    return Date.parse(raw.replace(/(\.\d{3})\d+/, '$1'));
  }
  return NaN;
}

/** a creation time from a backend, checked against `now` */
export function versionTime(raw: unknown, now: number): CheckedTime {
  if (raw === undefined || raw === null || raw === '') return {};
  const at = epochMs(raw);
  if (!Number.isFinite(at)) return { problem: `${shown(raw)} is not a time` };
  // a Date holds ±8.64e15 ms; toISOString throws beyond that, on either side
  if (at < EARLIEST_MS) return { problem: `${at >= -8.64e15 ? new Date(at).toISOString() : shown(raw)} is before 2000, not a creation time` };
  if (at > now + CLOCK_SKEW_MS) {
    const iso = at < 8.64e15 ? new Date(at).toISOString() : shown(raw);
    return { problem: `${iso} is in the future (more than ${CLOCK_SKEW_MS / 60_000} minutes ahead of this clock)` };
  }
  return { at: Math.min(at, now) };
}

/** a protobuf Timestamp ({ seconds, nanos }, seconds as a number, string or Long) as epoch ms, or NaN */
export function timestampMs(ts: unknown): number {
  if (typeof ts !== 'object' || ts === null) return NaN;
  const { seconds, nanos } = ts as { seconds?: unknown; nanos?: unknown };
  const s = typeof seconds === 'number' ? seconds : typeof seconds === 'string' && /^-?\d{1,15}$/.test(seconds) ? Number(seconds) : typeof seconds === 'object' && seconds !== null ? Number(String(seconds)) : NaN;
  const n = typeof nanos === 'number' && Number.isFinite(nanos) ? nanos : 0;
  return s * 1000 + Math.floor(n / 1e6);
}
