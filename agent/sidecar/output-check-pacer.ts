// How often the rendered files are stat-ed. Each secret has its own jittered
// timer, so checks arrive in many small batches per interval; stat-ing every
// file after each of them cost ~17 stats per check with 20 files and about a
// third of the sidecar's CPU (issue 16). The files are checked at most once
// per period (the shortest refresh interval, less its jitter: a file is put
// back by the next check of the fastest secret, within about one interval, as
// before), and never twice at once. "A period" allows 10 % more: checks take
// time, and a pass must not wait a whole extra interval because this round
// of checks finished a few milliseconds sooner than the last. A file whose
// last write failed is retried after every check, as before. An operator's SIGHUP asks for the next
// pass whatever the period. A timer of its own asks for a pass every period
// too: a config of certificates and leases alone has no check for hours, and
// a deleted key file must not wait for the next re-issue.
//
//   const pacer = new OutputCheckPacer(clock, periodMs)
//   pacer.afterChecks(run, retrying)   run() now if none is running and the last pass
//                                      is 90 % of a period old, or a failed write is pending
//   pacer.wanted()           the next afterChecks runs a pass, period or not
//   pacer.start(run) / stop()   also try a pass every period on the pacer's own timer

import type { Clock, TimerHandle } from '../scheduler/clock.ts';

/** the own timer never fires more often than this (a jitter of 1 makes the period 0) */
const MIN_TIMER_MS = 1000;

export class OutputCheckPacer {
  private readonly clock: Clock;
  private readonly periodMs: number;
  private lastAt = -Infinity;
  private running = false;
  private timer: TimerHandle | undefined;

  constructor(clock: Clock, periodMs: number) {
    this.clock = clock;
    this.periodMs = Math.max(0, periodMs);
  }

  /** called after a batch of secret checks: starts a pass when one is due, or
   * at once when `retrying` (a file's last write failed: it is retried at
   * every check, as before, since its app is waiting for those bytes) */
  afterChecks(run: () => Promise<void>, retrying = false): void {
    const now = this.clock.now();
    if (this.running || (!retrying && now - this.lastAt < this.periodMs * 0.9)) return;
    this.lastAt = now;
    this.running = true;
    // a pass logs its own failures; a rejection here only ends the pass
    const done = (): void => {
      this.running = false;
    };
    run().then(done, done);
  }

  /** a pass every period even when no secret is checked */
  start(run: () => Promise<void>): void {
    this.timer = this.clock.setTimeout(() => {
      this.afterChecks(run);
      this.start(run);
    }, Math.max(this.periodMs, MIN_TIMER_MS));
  }

  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** an operator asked (SIGHUP): the next batch's pass is not held back by the period */
  wanted(): void {
    this.lastAt = -Infinity;
  }
}

/** the shortest refresh interval of any secret, less its jitter: a secret
 * checked early (interval - jitter after its last check) must not find the
 * pass still held back, or the files would wait a second interval */
export function outputCheckPeriod(globalIntervalMs: number, jitter: number, secrets: Iterable<{ refreshMs?: number | undefined }>): number {
  let period = globalIntervalMs;
  for (const s of secrets) if (s.refreshMs !== undefined && s.refreshMs < period) period = s.refreshMs;
  return period * (1 - Math.min(Math.max(jitter, 0), 1));
}
