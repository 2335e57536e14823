// How one agent's checks flow to one backend: a bound on calls in flight, and
// what happens while the backend does not answer.
//
//   const flow = new BackendFlow(clock, rand, { maxInFlight: 4, stallMs: 2000, probeBackoff }, { probe, recovered });
//   const ticket = await flow.acquire();       // undefined: park the check
//   try { await call(); ticket.release('answered') } catch { ticket.release('unreachable' | 'throttled' | 'answered') }
//
// While the backend answers: at most maxInFlight calls at once, the rest wait
// their turn (calls take milliseconds, so the wait does not stretch a check's
// schedule).
//
// A hung server holds one call per agent. Every call a stopped server has
// taken in is answered the moment it resumes, all agents' together, and so is
// every call its clients gave up on meanwhile (a resumed OpenBao reads and
// answers requests whose connection was closed while it was stopped: its audit
// log shows them). So a call goes while another is out only on evidence that
// the backend answers: an answer since that other call was sent. Without it
// the new call waits for that evidence (a healthy answer takes milliseconds);
// once the unconfirmed call has had no answer for stallMs, further checks are
// parked instead of sent. (A second call "in case the first is one slow path"
// held two calls per agent at a hang: with 50 agents, about 2.9 times the
// fleet's steady rate landing in one second at the resume.)
//
// One slow path must not block the others for good. A call that waits out
// its timeout (one hung path) marks the backend down; the probe that follows
// is answered at once when only that path hangs, and from then on one more
// unconfirmed call may go while one is stalled (two calls held, as a hung
// server then holds), until two are stalled with no answer (the server, not
// one path). A stalled call after which the backend did answer others is one
// slow path: up to STALLED_IN_FLIGHT calls go meanwhile.
//
// When a call fails without an answer (refused, reset, timed out) the
// backend counts as down: checks are parked while anything is in flight. One
// parked check at a time is sent as a probe when nothing is in flight: after
// a call that failed fast (refused, 5xx), at a backoff whose first step is
// full jitter (a fleet that lost its server together does not probe
// together); after a call that hung until its timeout (at least stallMs and
// the first backoff step), at once, so that one call is always waiting on a
// hung server and its first answer after it resumes brings the agent back.
// The first call that is answered again ends it: `recovered(true)` asks the
// owner to retry what was parked or failing, promptly (the owner spreads
// them). A throttled answer (429) shows the server is there but must not
// bring a burst: `recovered(false)` lets parked checks go back to their own
// schedule.

import type { Clock, TimerHandle } from './clock.ts';
import { retryDelay, type Rand } from './timing.ts';

export interface BackendFlowOptions {
  /** calls in flight at once while the backend answers */
  maxInFlight: number;
  /** a call unanswered this long makes the backend count as not answering */
  stallMs: number;
  /** between probes while the backend does not answer */
  probeBackoff: { initial: number; max: number };
}

export interface BackendFlowHooks {
  /** the backend does not answer and nothing is in flight: send one parked check */
  probe(): void;
  /** the backend answers again after calls were parked or failed;
   * prompt: retry them now (spread), else at their own schedule */
  recovered(prompt: boolean): void;
}

/** how a call ended, for the flow: an answer (success, or a definite error
 * such as 404 or 403), none (refused, reset, timed out), or a throttle */
export type CallOutcome = 'answered' | 'unreachable' | 'throttled';

export interface FlowTicket {
  /** once per ticket; later calls are ignored */
  release(outcome: CallOutcome): void;
}

/** the default stallMs: far above a healthy backend's answer, even on a loaded node */
export const STALL_MS = 1_000;
/** calls in flight while one of them is stalled on one slow path (the
 * backend answered others since it was sent) */
export const STALLED_IN_FLIGHT = 2;

export class BackendFlow {
  private readonly clock: Clock;
  private readonly rand: Rand;
  private readonly o: BackendFlowOptions;
  private readonly hooks: BackendFlowHooks;
  /** start times of the calls in flight, by ticket */
  private readonly inFlight = new Map<FlowTicket, number>();
  private readonly waiting: Array<() => void> = [];
  private down = false;
  /** a check was parked since the backend last answered */
  private parkedAny = false;
  private probes = 0;
  private probeTimer: TimerHandle | undefined;
  /** wakes waiting checks when an unconfirmed call stalls: they park then */
  private stallTimer: TimerHandle | undefined;
  /** when the backend last answered (or throttled): a call sent before then is confirmed */
  private lastAnswerAt = -Infinity;
  /** the last call to end waited out its timeout */
  private lastEndedHung = false;
  /** a hang turned out to be one path (the probe after it was answered at
   * once): one more unconfirmed call may go while one is stalled */
  private onePathSeen = false;
  private stopped = false;

  constructor(clock: Clock, rand: Rand, opts: BackendFlowOptions, hooks: BackendFlowHooks) {
    if (!(opts.maxInFlight >= 1)) throw new RangeError(`maxInFlight must be at least 1 (got ${opts.maxInFlight})`);
    this.clock = clock;
    this.rand = rand;
    this.o = opts;
    this.hooks = hooks;
  }

  /** calls now in flight */
  get active(): number {
    return this.inFlight.size;
  }

  /** whether the backend counts as answering now (not down, no call stalled) */
  get answering(): boolean {
    return !this.down && !this.stalled();
  }

  /** a ticket to send one call, or undefined when the check should be parked
   * (the backend does not answer and a call is already out). urgent (a
   * lease or issued value on its own clock): one call more than the reduced
   * bound while the backend does not answer, and no wait for evidence */
  async acquire(urgent = false): Promise<FlowTicket | undefined> {
    for (;;) {
      if (this.stopped) return undefined;
      const decision = this.decide(urgent);
      if (decision === 'go') return this.issue(); // when down: the probe
      if (decision === 'park') {
        this.parkedAny = true;
        return undefined;
      }
      this.armStallWake();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private decide(urgent: boolean): 'go' | 'wait' | 'park' {
    const max = this.o.maxInFlight;
    const now = this.clock.now();
    // calls out with no answer from the backend since they were sent
    const unconfirmed = [...this.inFlight.values()].filter((since) => since > this.lastAnswerAt);
    const hung = unconfirmed.filter((since) => now - since >= this.o.stallMs).length;
    // two calls stalled with no answer since: the server, not one path
    if (hung >= 2) this.onePathSeen = false;
    const allowance = this.onePathSeen ? 2 : 1;
    // the backend does not answer as it should: checks are parked rather than
    // queued, and a lease gets its slot above the bound (whatever max is:
    // with init.concurrency 1 a renewal queued behind static checks hung for
    // their 30 s each would run out)
    const reduced = this.down || hung > 0 || this.stalled();
    let limit = max;
    if (this.down) limit = 1;
    else if (hung > 0) limit = allowance;
    else if (this.stalled()) limit = STALLED_IN_FLIGHT;
    // no evidence yet that the backend answers what is out: wait for it
    // (an answer, or the call stalling: then park)
    else if (!urgent && unconfirmed.length >= allowance) return 'wait';
    limit = Math.min(limit, max);
    if (this.inFlight.size < limit) return 'go';
    // a lease to renew runs out while it waits: one call above the reduced
    // bound, so static checks hung on their paths do not let it expire
    if (urgent && reduced && this.inFlight.size < limit + 1) return 'go';
    return reduced ? 'park' : 'wait';
  }

  /** a check waits for evidence on an unconfirmed call: re-decide when that
   * call has been out for stallMs */
  private armStallWake(): void {
    if (this.stallTimer) return;
    const now = this.clock.now();
    const young = [...this.inFlight.values()].filter((since) => since > this.lastAnswerAt && now - since < this.o.stallMs);
    if (young.length === 0) return;
    this.stallTimer = this.clock.setTimeout(() => {
      this.stallTimer = undefined;
      for (const wake of this.waiting.splice(0)) wake();
    }, Math.min(...young) + this.o.stallMs - now);
  }

  /** stop the probe timer; checks waiting for a slot, and later ones, get
   * none (the owner is stopping) */
  stop(): void {
    this.stopped = true;
    if (this.probeTimer) this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.stallTimer) this.clock.clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    for (const wake of this.waiting.splice(0)) wake();
  }

  private stalled(): boolean {
    const now = this.clock.now();
    for (const since of this.inFlight.values()) if (now - since >= this.o.stallMs) return true;
    return false;
  }

  private issue(): FlowTicket {
    let released = false;
    const ticket: FlowTicket = {
      release: (outcome) => {
        if (released) return;
        released = true;
        // a hang for the probe at once: the call waited out a timeout, which is
        // far longer than stallMs. An overloaded server's 5xx after a second or
        // two is an answer, and probing at once after it had no floor: each
        // parked check went back to back at the server's pace. At least the
        // first backoff step keeps a probe after a hang no faster than after a fast failure.
        const took = this.clock.now() - (this.inFlight.get(ticket) ?? Infinity);
        const hung = took >= Math.max(this.o.stallMs, this.o.probeBackoff.initial);
        this.inFlight.delete(ticket);
        // the call after a hang answered at once: the server works, the hang was one path
        if (this.lastEndedHung && outcome !== 'unreachable' && took < this.o.stallMs) this.onePathSeen = true;
        this.lastEndedHung = outcome === 'unreachable' && hung;
        this.settle(outcome, hung);
      },
    };
    this.inFlight.set(ticket, this.clock.now());
    return ticket;
  }

  private settle(outcome: CallOutcome, hung: boolean): void {
    // calls aborted by the stop end here too: no probe or hook after it
    if (this.stopped) return;
    if (outcome === 'unreachable') {
      this.down = true;
    } else {
      this.lastAnswerAt = this.clock.now();
      const wasOut = this.down || this.parkedAny;
      this.down = false;
      this.parkedAny = false;
      this.probes = 0;
      if (this.probeTimer) this.clock.clearTimeout(this.probeTimer);
      this.probeTimer = undefined;
      if (wasOut) this.hooks.recovered(outcome === 'answered');
    }
    if (this.down && this.inFlight.size === 0) this.armProbe(outcome === 'unreachable' && hung);
    // waiters re-decide: go, wait again, or park
    for (const wake of this.waiting.splice(0)) wake();
  }

  /** afterHang: the last call waited out its timeout: a waiting call costs
   * the server nothing, so the next one goes at once */
  private armProbe(afterHang: boolean): void {
    if (this.probeTimer) return;
    const delay = afterHang ? 0 : retryDelay(this.probes++, this.o.probeBackoff.initial, this.o.probeBackoff.max, this.rand);
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      if (this.down && this.inFlight.size === 0) this.hooks.probe();
    }, delay);
  }
}
