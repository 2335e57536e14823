// Durations in config: "30s", "5m", "1h30m", "250ms", or a bare number of seconds.

import * as z from 'zod/mini';
import './zod-setup.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** milliseconds, or undefined when the text is not a duration */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? NaN);
    matched++;
  }
  return matched > 0 && Number.isFinite(total) ? Math.round(total) : undefined;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function durationOf(allowZero: boolean) {
  return z.pipe(
    z.union([z.number().check(z.nonnegative()), z.string()]),
    z.transform((v: number | string, ctx) => {
      const ms = typeof v === 'number' ? Math.round(v * 1000) : parseDuration(v);
      if (ms === undefined) {
        ctx.issues.push({ code: 'custom', message: `"${v}" is not a duration (use e.g. 30s, 5m, 1h, 250ms)`, input: v });
        return z.NEVER;
      }
      // a zero interval, timeout or backoff turns into a busy loop or a
      // timeout that fails before the first try: refuse it here, as config
      if (ms === 0 && !allowZero) {
        ctx.issues.push({ code: 'custom', message: `${JSON.stringify(v)} is no time at all; give a duration longer than 0 (e.g. 30s, 5m, 250ms)`, input: v });
        return z.NEVER;
      }
      return ms;
    }),
  );
}

/** zod schema: a duration string or seconds -> milliseconds, longer than 0 */
export const durationSchema = durationOf(false);

/** the same, where 0 means "none" (a quiet period, a grace period) */
export const durationOrZeroSchema = durationOf(true);
