// A Clock whose time moves only when told. advance(ms) fires every timer that
// falls due, in due-time order (ties in creation order), with now() reading the
// timer's own due time while its callback runs, so code under test sees the
// same timestamps it would in production. Used by tests of the scheduler,
// batcher, health and the sidecar loop; never sleeps.

import { sleepOn, type Clock, type TimerHandle } from './clock.ts';

interface PendingTimer {
  id: number;
  due: number;
  cb: () => void;
}

export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(cb: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, due: this.current + Math.max(0, ms), cb });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** number of timers not yet fired */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** due time of the earliest pending timer */
  nextDue(): number | undefined {
    return this.timers.reduce<number | undefined>((min, t) => (min === undefined || t.due < min ? t.due : min), undefined);
  }

  /** move time forward by ms, firing due timers in order; timers created by a
   * callback fire too when they fall inside the window. Awaits microtasks
   * between timers so promise chains started by one callback settle first. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await settle();
      const next = this.earliestDue(target);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = next.due;
      next.cb();
    }
    this.current = target;
    await settle();
  }

  /** advance to an absolute time */
  async advanceTo(at: number): Promise<void> {
    await this.advance(Math.max(0, at - this.current));
  }

  private earliestDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.due <= limit && (!best || t.due < best.due || (t.due === best.due && t.id < best.id))) best = t;
    }
    return best;
  }
}

async function settle(): Promise<void> {
  // macrotask-free turns: enough for chains of awaits to run (two checks one
  // after the other through a BackendFlow, each a chain of awaits, need more than 20)
  for (let i = 0; i < 50; i++) await Promise.resolve();
}
