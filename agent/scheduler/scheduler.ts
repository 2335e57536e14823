// One timer per secret; tells the sidecar which secrets are due.
//
//   const s = new Scheduler(clock);
//   s.onDue(async (checks) => { for (const c of checks) ...; s.schedule(c.name, next, c.kind) });
//   s.schedule('db', at, 'static' | 'leased' | 'token');
//   s.trigger('db')            // due now (a provider's watch() fired)
//
// Guarantees:
// - at most one pending timer per name: schedule() replaces the previous one;
// - one cycle (one onDue call) holds each due name once, however many timers
//   or triggers for it fell due together;
// - never two checks of the same name at once: a name that falls due while its
//   previous check is still running is held and delivered, once, after it.
// The callback decides the next time (see timing.ts) and calls schedule again;
// the Scheduler itself holds no policy.

import type { Clock, TimerHandle } from './clock.ts';

export type CheckKind = 'static' | 'leased' | 'token';

export interface DueCheck {
  name: string;
  kind: CheckKind;
  /** when it was scheduled to run (epoch ms) */
  dueAt: number;
}

export type DueCallback = (checks: DueCheck[]) => void | Promise<void>;

interface Entry {
  kind: CheckKind;
  at: number;
  timer: TimerHandle;
}

export class Scheduler {
  private readonly clock: Clock;
  private readonly entries = new Map<string, Entry>();
  private readonly due = new Map<string, DueCheck>();
  private readonly inFlight = new Set<string>();
  private callback: DueCallback | undefined;
  private flushTimer: TimerHandle | undefined;
  private readonly onError: (e: unknown) => void;
  private stopped = false;

  constructor(clock: Clock, onError: (e: unknown) => void = () => {}) {
    this.clock = clock;
    this.onError = onError;
  }

  onDue(cb: DueCallback): void {
    this.callback = cb;
  }

  schedule(name: string, at: number, kind: CheckKind): void {
    if (this.stopped) return;
    this.cancel(name);
    const timer = this.clock.setTimeout(() => {
      this.entries.delete(name);
      this.enqueue({ name, kind, dueAt: at });
    }, at - this.clock.now());
    this.entries.set(name, { kind, at, timer });
  }

  /** make `name` due now, replacing its timer (push notifications) */
  trigger(name: string, kind?: CheckKind): void {
    const known = this.entries.get(name);
    this.cancel(name);
    this.enqueue({ name, kind: kind ?? known?.kind ?? 'static', dueAt: this.clock.now() });
  }

  cancel(name: string): void {
    const e = this.entries.get(name);
    if (e) this.clock.clearTimeout(e.timer);
    this.entries.delete(name);
  }

  /** when `name` is next due, if scheduled */
  nextAt(name: string): { at: number; kind: CheckKind } | undefined {
    const e = this.entries.get(name);
    return e && { at: e.at, kind: e.kind };
  }

  /** names with a pending timer */
  scheduled(): string[] {
    return [...this.entries.keys()];
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) this.clock.clearTimeout(e.timer);
    this.entries.clear();
    this.due.clear();
    if (this.flushTimer) this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  private enqueue(check: DueCheck): void {
    if (this.stopped) return;
    const prev = this.due.get(check.name);
    // keep the earliest due time so lateness is measured honestly
    this.due.set(check.name, prev && prev.dueAt <= check.dueAt ? prev : check);
    // batch everything due in this turn into one cycle
    this.flushTimer ??= this.clock.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 0);
  }

  private async flush(): Promise<void> {
    const cb = this.callback;
    if (!cb || this.stopped) return;
    const ready = [...this.due.values()].filter((c) => !this.inFlight.has(c.name));
    if (ready.length === 0) return;
    for (const c of ready) {
      this.due.delete(c.name);
      this.inFlight.add(c.name);
    }
    try {
      await cb(ready);
    } catch (e) {
      this.onError(e);
    } finally {
      for (const c of ready) this.inFlight.delete(c.name);
      // names that fell due meanwhile were held back: deliver them now
      if (this.due.size > 0 && !this.stopped) this.flushTimer ??= this.clock.setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, 0);
    }
  }
}
