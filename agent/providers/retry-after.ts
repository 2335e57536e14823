// A Retry-After header value -> milliseconds to wait. Pure. Shared by the
// HTTP backends (Vault, AWS, Azure), whose 429s and 503s may carry one.

// IMF-fixdate, "Sun, 29 Nov 2026 08:01:30 GMT". Also "UTC" in place of "GMT":
// Vault's rate limit quotas wrote Go's time.RFC1123 of a UTC time before they
// switched to delta-seconds. Date.parse alone would also take "-5" or "soon".
const HTTP_DATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} (GMT|UTC)$/;

/** a hint longer than this is read as this: a day is longer than any wait the
 * agent plans (init.timeout, refresh.backoff.max bound them further), and a
 * 30-digit hint would otherwise reach timers and messages as 1e+30 */
export const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** delta-seconds or an HTTP date, in ms from `now` (at most MAX_RETRY_AFTER_MS); undefined when absent or unreadable */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Math.min(Number(v) * 1000, MAX_RETRY_AFTER_MS);
  if (!HTTP_DATE.test(v)) return undefined;
  const at = Date.parse(v.replace(/UTC$/, 'GMT'));
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** a milliseconds header (Azure's retry-after-ms, x-ms-retry-after-ms) -> ms (at most MAX_RETRY_AFTER_MS); undefined when absent or unreadable */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  const v = value?.trim();
  return v && /^\d+$/.test(v) ? Math.min(Number(v), MAX_RETRY_AFTER_MS) : undefined;
}

/** the tail of an operator message: ", not before its Retry-After of 8 s" ("" without a hint) */
export function notBeforeText(retryAfterMs: number | undefined, what = 'Retry-After'): string {
  return retryAfterMs === undefined ? '' : `, not before its ${what} of ${Math.ceil(retryAfterMs / 1000)} s`;
}
