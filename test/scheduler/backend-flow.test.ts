import t from 'tap';
import { BackendFlow, type FlowTicket } from '../../agent/scheduler/backend-flow.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';

const BACKOFF = { initial: 10_000, max: 300_000 };

function flow(clock: ManualClock, maxInFlight = 2, rand = (): number => 0.5) {
  const events: string[] = [];
  const f = new BackendFlow(clock, rand, { maxInFlight, stallMs: 1_000, probeBackoff: BACKOFF }, {
    probe: () => void events.push(`probe@${clock.now()}`),
    recovered: (prompt) => void events.push(`recovered(${prompt})@${clock.now()}`),
  });
  return { f, events };
}

/** a call answered now: later calls sent at this instant count as confirmed */
async function answeredNow(f: BackendFlow): Promise<void> {
  (await f.acquire(true))!.release('answered');
}

t.test('while the backend answers: at most maxInFlight calls at once, the next waits for a free slot', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 2);
  await answeredNow(f);
  const a = (await f.acquire())!;
  const b = (await f.acquire())!;
  t.equal(f.active, 2, 'both go: the backend has just answered');
  let third: FlowTicket | undefined;
  const waiting = f.acquire().then((x) => (third = x));
  await clock.advance(100);
  t.equal(third, undefined, 'the third waits');
  a.release('answered');
  await waiting;
  t.ok(third, 'and goes once a call ended');
  t.equal(f.active, 2);
  b.release('answered');
  third!.release('answered');
  t.equal(f.active, 0);
});

t.test('a call goes while another is out only once the backend has answered since that one was sent', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  const first = (await f.acquire())!;
  let second: FlowTicket | undefined;
  const waiting = f.acquire().then((x) => (second = x));
  await clock.advance(300);
  t.equal(second, undefined, 'no answer yet to the first: the second waits for evidence');
  first.release('answered');
  await waiting;
  t.ok(second, 'the first was answered: the second goes');
  t.equal(f.active, 1);
  second!.release('answered');
  t.same(events, [], 'a wait of milliseconds is no outage');
});

t.test('a hung server holds one call per agent: the next waits for evidence, then is parked', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  await answeredNow(f);
  await clock.advance(5_000); // the server stops
  const hung = (await f.acquire())!;
  await clock.advance(500);
  let second: FlowTicket | undefined | 'pending' = 'pending';
  const waiting = f.acquire().then((x) => (second = x));
  await clock.advance(100);
  t.equal(second, 'pending', 'within stallMs the next check waits for an answer to the first');
  await clock.advance(400);
  await waiting;
  t.equal(second, undefined, 'the first has had no answer for stallMs: the waiting check is parked, not sent');
  t.equal(f.answering, false);
  for (let i = 0; i < 10; i++) t.equal(await f.acquire(), undefined, `check ${i} parked`);
  t.equal(f.active, 1, 'one call held by the hung server, not two, not twelve');
  await clock.advance(25_000);
  hung.release('answered'); // the server resumes and answers the call it held
  t.same(events, ['recovered(true)@31000'], 'the first answer ends it: parked checks are retried promptly');
  t.equal(f.answering, true);
  t.ok(await f.acquire(), 'and calls go again');
});

t.test('one slow path does not block the others for good', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  await answeredNow(f);
  await clock.advance(100);
  // a path that hangs until the call's timeout (30 s) while the server answers everything else
  const slow = (await f.acquire())!;
  await clock.advance(1_000);
  t.equal(await f.acquire(), undefined, 'the first time, nothing tells it from a hung server: parked');
  await clock.advance(29_000);
  slow.release('unreachable'); // its timeout
  await clock.advance(0);
  t.same(events, ['probe@30100'], 'a probe at once after the hang');
  const probe = (await f.acquire())!;
  await clock.advance(5);
  probe.release('answered');
  t.same(events.at(-1), 'recovered(true)@30105', 'answered at once: what was parked is retried');

  // the slow path is checked again: from now on the others keep going
  await clock.advance(10_000);
  const slowAgain = (await f.acquire())!;
  await clock.advance(1_000);
  const other = await f.acquire();
  t.ok(other, 'a stall after a hang that was one path: a second call goes');
  await clock.advance(5);
  other!.release('answered');
  for (let i = 0; i < 5; i++) {
    await clock.advance(1_000);
    const next = await f.acquire();
    t.ok(next, `check ${i} goes: the backend answers while the slow call is out`);
    await clock.advance(5);
    next!.release('answered');
  }
  t.equal(f.active, 1, 'only the slow call is out');
  slowAgain.release('unreachable');
});

t.test('two calls stalled with no answer in between are the server, not one path: back to one held call', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 4);
  // a hang that was one path (as above)
  const slow = (await f.acquire())!;
  await clock.advance(30_000);
  slow.release('unreachable');
  await clock.advance(0);
  const probe = (await f.acquire())!;
  probe.release('answered');
  // now the whole server hangs
  await clock.advance(10_000);
  const a = (await f.acquire())!;
  await clock.advance(1_000);
  const b = await f.acquire();
  t.ok(b, 'one path was seen hanging: a second call goes');
  await clock.advance(1_000);
  t.equal(await f.acquire(), undefined, 'two stalled with no answer: a third is parked');
  a.release('answered');
  b!.release('answered');
  await clock.advance(10_000);
  const c = (await f.acquire())!;
  await clock.advance(1_000);
  t.equal(await f.acquire(), undefined, 'the next hang holds one call again');
  c.release('answered');
});

t.test('a stalled call after which the backend answered others is one slow path: a second call goes, a third is parked', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 4);
  await answeredNow(f);
  const slow = (await f.acquire())!;
  const quick = (await f.acquire())!;
  t.ok(quick, 'sent at the instant of an answer: both go');
  await clock.advance(10);
  quick.release('answered');
  await clock.advance(5_000);
  const second = await f.acquire();
  t.ok(second, 'the backend answered since the slow call was sent: a second call goes');
  t.equal(await f.acquire(), undefined, `a third is parked (at most STALLED_IN_FLIGHT)`);
  second!.release('answered');
  slow.release('answered');
});

t.test('no answer at all: one probe at a time, the first after a full-jitter wait, then backing off', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  (await f.acquire())!.release('unreachable');
  t.equal(f.answering, false);
  await clock.advance(4_999);
  t.same(events, [], 'not before the first draw (rand 0.5 of initial 10 s)');
  await clock.advance(1);
  t.same(events, ['probe@5000']);
  const probe = (await f.acquire())!;
  t.ok(probe, 'with nothing in flight, a check goes out as the probe');
  t.equal(await f.acquire(), undefined, 'and the next is parked behind it');
  probe.release('unreachable');
  await clock.advance(15_000);
  t.same(events, ['probe@5000', 'probe@20000'], 'second probe: exponential backoff (10-20 s, rand 0.5)');
  (await f.acquire())!.release('answered');
  t.same(events.at(-1), 'recovered(true)@20000');
  t.equal(clock.pendingTimers, 0, 'no probe timer left once it answers');
});

t.test('a probe that hung until its timeout is followed by the next at once: one call always waits on a hung server', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  const probe = (await f.acquire())!;
  await clock.advance(30_000);
  probe.release('unreachable'); // its 30 s timeout
  await clock.advance(0);
  t.same(events, ['probe@30000'], 'no backoff after a hang');
  const next = (await f.acquire())!;
  await clock.advance(5_000);
  next.release('answered'); // the server resumed and answered the call it held
  t.same(events, ['probe@30000', 'recovered(true)@35000']);
});

t.test('a slow 5xx (an overloaded server answering after stallMs) is no hang: probes back off instead of going back to back', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  // each probe the server answers 503 after 1.5 s: more than stallMs, far less than a call's timeout
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const probe = (await f.acquire())!;
    t.ok(probe, `probe ${i} goes out`);
    await clock.advance(1_500);
    probe.release('unreachable');
    const answeredAt = clock.now();
    await clock.advance(BACKOFF.max);
    t.equal(events.length, i + 1, `one probe after failure ${i}`);
    waits.push(Number(events.at(-1)!.split('@')[1]) - answeredAt);
  }
  // at once after each 1.5 s answer was a probe every 1.5 s for as long as checks were parked
  t.ok(waits.slice(1).every((w) => w >= BACKOFF.initial), `later probes wait at least the first backoff step (waits ${waits.join(', ')})`);
});

t.test('an urgent check (a lease to renew) gets one call above the reduced bound, and only one', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 4);
  const a = (await f.acquire())!;
  const quick = await f.acquire(true);
  t.ok(quick, 'an urgent check does not wait for evidence on the call out');
  await clock.advance(1_000);
  t.equal(await f.acquire(), undefined, 'two out with no answer, stalled: a static check is parked');
  t.equal(await f.acquire(true), undefined, 'an urgent one too: the bound (one) plus one are out');
  quick!.release('answered'); // answered late: a is confirmed by it, one slow path
  const lease = await f.acquire(true);
  t.ok(lease, 'a lease renewal goes out');
  t.equal(f.active, 2);
  lease!.release('unreachable'); // the server stops answering
  t.equal(await f.acquire(), undefined, 'down with a call out: a static check is parked');
  const urgent = await f.acquire(true);
  t.ok(urgent, 'down: an urgent check still gets one call above the bound of one');
  t.equal(await f.acquire(true), undefined, 'and only one');
  a.release('answered');
  urgent!.release('answered');
  t.equal(f.active, 0);
});

t.test('a throttled answer ends the outage without a burst: recovered(false)', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock);
  (await f.acquire())!.release('unreachable');
  (await f.acquire())!.release('throttled');
  t.same(events, ['recovered(false)@0']);
  t.equal(f.answering, true);
});

t.test('answers while healthy do not call recovered; stop() clears the probe timer', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock);
  (await f.acquire())!.release('answered');
  (await f.acquire())!.release('throttled');
  t.same(events, []);
  (await f.acquire())!.release('unreachable');
  t.equal(clock.pendingTimers, 1);
  f.stop();
  t.equal(clock.pendingTimers, 0);
  t.equal(await f.acquire(), undefined, 'a stopped flow sends nothing');
  t.throws(() => new BackendFlow(clock, Math.random, { maxInFlight: 0, stallMs: 1, probeBackoff: BACKOFF }, { probe() {}, recovered() {} }), RangeError);
});

t.test('maxInFlight 1: while the one call hangs, static checks are parked (not queued behind it) and a lease renewal still goes', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 1);
  await answeredNow(f);
  const hung = (await f.acquire())!;
  await clock.advance(1_500);
  const statics = await Promise.all([f.acquire(), f.acquire(), f.acquire()]);
  t.same(statics, [undefined, undefined, undefined], 'parked at once: with one slot, queueing would hold each 30 s behind the hang');
  const lease = await f.acquire(true);
  t.ok(lease, 'the lease renewal gets its slot above the bound at once, not after the static checks');
  t.equal(f.active, 2);
  lease!.release('answered');
  hung.release('unreachable');
});

t.test('maxInFlight 2 with a confirmed call stalled: a lease still goes, static checks park', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 2);
  await answeredNow(f);
  const a = (await f.acquire())!;
  a.release('answered');
  const slow = (await f.acquire())!;
  const second = (await f.acquire())!;
  second.release('answered');
  await clock.advance(1_500);
  const other = await f.acquire();
  t.ok(other, 'one stalled call that was answered since: one slow path, a second call goes');
  t.equal(await f.acquire(), undefined, 'with both slots out, a static check parks instead of queueing');
  const lease = await f.acquire(true);
  t.ok(lease, 'the lease goes, above the bound');
  t.equal(f.active, 3);
  lease!.release('answered');
  other!.release('answered');
  slow.release('answered');
});

t.test('calls that end after stop() arm no probe and call no hook', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 2);
  await answeredNow(f);
  const out = (await f.acquire())!;
  f.stop();
  out.release('unreachable');
  await clock.advance(600_000);
  t.same(events, [], 'no probe after the stop');
  t.equal(clock.pendingTimers, 0, 'no timer left');
});
