// The median change to file, two ways.
//
// Sampled: each change waits for the agent's next check of its secret, at a
// random phase, so one sample is spread over a whole interval. With n
// changes the median's standard error is about interval / (2 * sqrt(n)):
// ~50 ms for 90 changes at 1 s, more than the 20 ms the goal leaves for the
// agent's own work. bootstrapMedian gives the sampled median's 95 %
// interval.
//
// Computed: a change at a random time falls into a gap g between two checks
// with a chance in proportion to g, and then waits uniform over [0, g]:
// P(wait <= w) = sum(min(w, g)) / sum(g) over every gap the server saw (a few
// thousand per round, every secret's). The agent's own time from that check
// to the file is added from the changes' own samples. The median of that sum
// is what the sampled one estimates, at a fraction of its spread.

import { quantile } from './table.ts';

/** P(wait <= w) for a change at a random time, over these gaps */
export function waitCdf(gaps: readonly number[]): (w: number) => number {
  const total = gaps.reduce((a, g) => a + g, 0);
  return (w) => (total === 0 ? 1 : gaps.reduce((a, g) => a + Math.min(Math.max(w, 0), g), 0) / total);
}

/** the median of wait + check-to-file, the two independent; NaN without gaps or samples */
export function computedMedian(gaps: readonly number[], checkToFile: readonly number[]): number {
  if (gaps.length === 0 || checkToFile.length === 0) return Number.NaN;
  const cdf = waitCdf(gaps);
  const p = (x: number) => checkToFile.reduce((a, d) => a + cdf(x - d), 0) / checkToFile.length;
  let lo = 0;
  let hi = Math.max(...gaps) + Math.max(...checkToFile);
  while (hi - lo > 0.1) {
    const mid = (lo + hi) / 2;
    if (p(mid) < 0.5) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** the sampled median's 95 % interval, from `rounds` resamples */
export function bootstrapMedian(samples: readonly number[], rand: () => number = Math.random, rounds = 2000): { low: number; high: number } {
  if (samples.length === 0) return { low: Number.NaN, high: Number.NaN };
  const medians: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const resample = Array.from({ length: samples.length }, () => samples[Math.floor(rand() * samples.length)]!);
    medians.push(quantile(resample, 0.5));
  }
  return { low: quantile(medians, 0.025), high: quantile(medians, 0.975) };
}
