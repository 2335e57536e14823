// consul-template's `wait { min max }`: after a change, wait `min` of quiet
// (each further change restarts that wait) but never more than `max` after the
// first change of the batch, then fire once with every name that changed.
//
//   const b = new ChangeBatcher(clock, { minMs, maxMs }, (names) => ...);
//   b.add('db'); b.add('cookie');   // -> one fire with Set { 'db', 'cookie' }
//
// min = 0 still batches changes made in the same turn (fires on the next timer
// turn). max defaults to 4 * min like consul-template. While a fire's callback
// is running, new changes start the next batch; batches never overlap.

import type { Clock, TimerHandle } from './clock.ts';

export interface WaitOptions {
  minMs: number;
  maxMs?: number;
}

export type BatchCallback = (names: ReadonlySet<string>) => void | Promise<void>;

export class ChangeBatcher {
  private readonly clock: Clock;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly onFire: BatchCallback;
  private names = new Set<string>();
  private firstAt: number | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private disposed = false;
  private readonly onError: (e: unknown) => void;

  /** onError receives whatever the callback throws (the batcher never rethrows:
   * a failed batch must not stop later ones) */
  constructor(clock: Clock, wait: WaitOptions, onFire: BatchCallback, onError: (e: unknown) => void = () => {}) {
    if (wait.minMs < 0 || (wait.maxMs !== undefined && wait.maxMs < wait.minMs)) {
      throw new RangeError(`refresh.wait: need 0 <= min <= max (got min ${wait.minMs} ms, max ${wait.maxMs} ms)`);
    }
    this.clock = clock;
    this.minMs = wait.minMs;
    this.maxMs = wait.maxMs ?? wait.minMs * 4;
    this.onFire = onFire;
    this.onError = onError;
  }

  /** names waiting in the current batch */
  get pending(): ReadonlySet<string> {
    return this.names;
  }

  add(...names: string[]): void {
    if (this.disposed || names.length === 0) return;
    const now = this.clock.now();
    for (const n of names) this.names.add(n);
    this.firstAt ??= now;
    const deadline = this.firstAt + this.maxMs;
    const at = Math.min(now + this.minMs, deadline);
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => void this.fire(), Math.max(0, at - now));
  }

  /** fire now with whatever is pending (shutdown, tests) */
  async flush(): Promise<void> {
    await this.fire();
  }

  /** drop pending names and stop accepting more */
  dispose(): void {
    this.disposed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.names = new Set();
  }

  /** resolves when the callback currently running (if any) has finished */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async fire(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running) {
      // a batch is still being handled; this one fires when it is done
      await this.running;
      if (this.names.size === 0 || this.timer) return;
    }
    if (this.names.size === 0) return;
    const batch = this.names;
    this.names = new Set();
    this.firstAt = undefined;
    const run = (async () => {
      try {
        await this.onFire(batch);
      } catch (e) {
        this.onError(e);
      } finally {
        this.running = undefined;
      }
    })();
    this.running = run;
    await run;
  }
}
