// Does a check schedule hold under load? The gaps between two checks of one
// secret, seen where the server got them, while busy processes keep every
// core of the machine busy. Shared by bench/fleet.ts and bench/peers/.

import { spawn, type ChildProcess } from 'node:child_process';

/** one read of a secret the server saw: which secret, and when (epoch ms) */
export interface SecretRead {
  secret: string;
  at: number;
}

/** reads of one secret closer together than this are one check: a KV v2
 * metadata read and the data read that follows it when the version moved */
export const ONE_CHECK_MS = 200;

/** every gap (ms) between two checks of the same secret, ascending */
export function checkGaps(reads: Iterable<SecretRead>, oneCheckMs = ONE_CHECK_MS): number[] {
  const bySecret = new Map<string, number[]>();
  for (const r of reads) {
    const list = bySecret.get(r.secret);
    if (list) list.push(r.at);
    else bySecret.set(r.secret, [r.at]);
  }
  const gaps: number[] = [];
  for (const times of bySecret.values()) {
    times.sort((a, b) => a - b);
    let last = times[0]!;
    for (const t of times.slice(1)) {
      if (t - last <= oneCheckMs) continue;
      gaps.push(t - last);
      last = t;
    }
  }
  return gaps.sort((a, b) => a - b);
}

/** the q-quantile of ascending values, nearest rank at or above (a p99 of 100
 * gaps is the largest but one); NaN when there are none */
export function rankQuantile(ascending: readonly number[], q: number): number {
  if (ascending.length === 0) return Number.NaN;
  return ascending[Math.min(ascending.length - 1, Math.floor(ascending.length * q))]!;
}

export interface GapStats {
  gaps: number;
  p50: number;
  p99: number;
  max: number;
  /** the share (0..1) of gaps longer than 1.5 intervals */
  overOneAndHalf: number;
}

/** the schedule's figures over ascending gaps; the times are ratios to the interval */
export function gapStats(ascending: readonly number[], intervalMs: number): GapStats {
  const over = ascending.filter((g) => g > 1.5 * intervalMs).length;
  return {
    gaps: ascending.length,
    p50: rankQuantile(ascending, 0.5) / intervalMs,
    p99: rankQuantile(ascending, 0.99) / intervalMs,
    max: (ascending.at(-1) ?? Number.NaN) / intervalMs,
    overOneAndHalf: ascending.length ? over / ascending.length : Number.NaN,
  };
}

/** n processes that spin for forMs (a cap, should the caller die before it
 * kills them), one per core to keep a 2-core machine fully busy */
export function startBurners(n: number, forMs: number): ChildProcess[] {
  const spin = `const end = Date.now() + ${Math.round(forMs)}; while (Date.now() < end);`;
  return Array.from({ length: n }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
}
