// How often the rendered files are stat-ed. Each secret has its own jittered
// timer, so checks arrive in many small batches per interval; stat-ing every
// file after each of them cost ~17 stats per check with 20 files and about a
// third of the sidecar's CPU (issue 16). The files are checked at most once
// per period (the shortest refresh interval: a file is put back within about
// one interval, as before), and never twice at once. "A period" allows 10 %:
// a secret's checks come an interval apart give or take their jitter and how
// long each took, and a pass must not wait a whole extra interval because
// this round of checks finished a few milliseconds sooner than the last.
//
//   const pacer = new OutputCheckPacer(clock, periodMs)
//   pacer.afterChecks(run, retrying)   run() now if none is running and the last pass
//                                      is a period old, or a failed write is pending

import type { Clock } from '../scheduler/clock.ts';

export class OutputCheckPacer {
  private readonly clock: Clock;
  /** the least time between two passes: 90 % of the period */
  private readonly minGapMs: number;
  private lastAt = -Infinity;
  private running = false;

  constructor(clock: Clock, periodMs: number) {
    this.clock = clock;
    this.minGapMs = Math.max(0, periodMs) * 0.9;
  }

  /** called after a batch of secret checks: starts a pass when one is due, or
   * at once when `retrying` (a file's last write failed: it is retried at
   * every check, as before, since its app is waiting for those bytes) */
  afterChecks(run: () => Promise<void>, retrying = false): void {
    const now = this.clock.now();
    if (this.running || (!retrying && now - this.lastAt < this.minGapMs)) return;
    this.lastAt = now;
    this.running = true;
    // a pass logs its own failures; a rejection here only ends the pass
    const done = (): void => {
      this.running = false;
    };
    run().then(done, done);
  }
}

/** the shortest refresh interval of any secret: the files are checked that often */
export function outputCheckPeriod(globalIntervalMs: number, secrets: Iterable<{ refreshMs?: number | undefined }>): number {
  let period = globalIntervalMs;
  for (const s of secrets) if (s.refreshMs !== undefined && s.refreshMs < period) period = s.refreshMs;
  return period;
}
