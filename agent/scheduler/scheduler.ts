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
// - never a tight loop: a name's check starts at least MIN_CHECK_GAP_MS (of
//   its kind) after its previous start, and a name that keeps asking sooner waits longer each
//   time (timing.ts pacedAt). This is the one floor under every refetch,
//   renewal, re-login and poll, so no caller (nor any number a backend sent)
//   can make the agent hammer a backend.
// - onEach (the sidecar's way): each due check runs on its own and frees its
//   name when it ends, so a check never waits for others due with it (one
//   slow secret, or many due together, cannot stretch another's schedule).
// The callback decides the next time (see timing.ts) and calls schedule again;
// apart from that floor the Scheduler holds no policy.

import type { Clock, TimerHandle } from './clock.ts';
import { MIN_CHECK_GAP_MS, pacedAt, type CheckPace } from './timing.ts';

export type CheckKind = 'static' | 'leased' | 'token';

export interface DueCheck {
  name: string;
  kind: CheckKind;
  /** when it was scheduled to run (epoch ms) */
  dueAt: number;
}

export type DueCallback = (checks: DueCheck[]) => void | Promise<void>;
export type EachCallback = (check: DueCheck) => Promise<void>;

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
  /** per name: its last start and how many starts in a row came too soon */
  private readonly pace = new Map<string, CheckPace>();
  /** per name: whether the check now planned came too soon (the streak it
   * would make), counted when it starts, so that fifty requests before one
   * start are one step of backoff, not fifty */
  private readonly pending = new Map<string, number>();
  private callback: DueCallback | undefined;
  private each: { run: EachCallback; afterCycle: (() => void) | undefined } | undefined;
  private flushTimer: TimerHandle | undefined;
  private readonly onError: (e: unknown) => void;
  private stopped = false;

  constructor(clock: Clock, onError: (e: unknown) => void = () => {}) {
    this.clock = clock;
    this.onError = onError;
  }

  /** one call per cycle with every name due in it; a name is free again when the whole cycle has settled */
  onDue(cb: DueCallback): void {
    this.callback = cb;
  }

  /** one call per due check; its name is free again as soon as its own check
   * settles. afterCycle runs once all checks that fell due together settled. */
  onEach(run: EachCallback, afterCycle?: () => void): void {
    this.each = { run, afterCycle };
  }

  /** plan `name` at `at` (epoch ms), or later when that is too soon after its last check */
  schedule(name: string, at: number, kind: CheckKind): void {
    if (this.stopped) return;
    this.cancel(name);
    const now = this.clock.now();
    const paced = this.paced(name, at, now, kind);
    const timer = this.clock.setTimeout(() => {
      this.entries.delete(name);
      this.enqueue({ name, kind, dueAt: paced });
    }, paced - now);
    this.entries.set(name, { kind, at: paced, timer });
  }

  /** make `name` due now (push notifications), replacing its timer; too soon
   * after its last check, it is planned at the floor instead */
  trigger(name: string, kind?: CheckKind): void {
    if (this.stopped) return;
    const known = this.entries.get(name);
    const k = kind ?? known?.kind ?? 'static';
    const now = this.clock.now();
    const pace = this.pace.get(name);
    if (pace?.lastStartAt !== undefined && pacedAt(now, now, pace, MIN_CHECK_GAP_MS[k]).at > now) {
      this.schedule(name, now, k);
      return;
    }
    this.cancel(name);
    this.pending.set(name, 0);
    this.enqueue({ name, kind: k, dueAt: now });
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

  private paced(name: string, at: number, now: number, kind: CheckKind): number {
    const p = pacedAt(at, now, this.pace.get(name) ?? { lastStartAt: undefined, tooSoon: 0 }, MIN_CHECK_GAP_MS[kind]);
    this.pending.set(name, p.tooSoon);
    return p.at;
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
    if ((!this.callback && !this.each) || this.stopped) return;
    const ready = [...this.due.values()].filter((c) => !this.inFlight.has(c.name));
    if (ready.length === 0) return;
    const startedAt = this.clock.now();
    for (const c of ready) {
      this.due.delete(c.name);
      this.inFlight.add(c.name);
      this.pace.set(c.name, { lastStartAt: startedAt, tooSoon: this.pending.get(c.name) ?? 0 });
      this.pending.delete(c.name);
    }
    if (this.each) {
      const { run, afterCycle } = this.each;
      await Promise.all(ready.map((c) => this.runOne(run, c)));
      if (!this.stopped) afterCycle?.();
      return;
    }
    try {
      await this.callback!(ready);
    } catch (e) {
      this.onError(e);
    } finally {
      for (const c of ready) this.inFlight.delete(c.name);
      this.releaseHeld();
    }
  }

  private async runOne(run: EachCallback, c: DueCheck): Promise<void> {
    try {
      await run(c);
    } catch (e) {
      this.onError(e);
    } finally {
      this.inFlight.delete(c.name);
      if (this.due.has(c.name)) this.releaseHeld();
    }
  }

  /** names that fell due while their check ran were held back: deliver them now */
  private releaseHeld(): void {
    if (this.due.size > 0 && !this.stopped) this.flushTimer ??= this.clock.setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, 0);
  }
}
