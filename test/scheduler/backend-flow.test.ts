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

t.test('while the backend answers: at most maxInFlight calls at once, the next waits for a free slot', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 2);
  const a = (await f.acquire())!;
  const b = (await f.acquire())!;
  t.equal(f.active, 2);
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

t.test('a hung server holds two calls and no more: later checks are parked', async (t) => {
  const clock = new ManualClock(0);
  const { f, events } = flow(clock, 4);
  const hung = (await f.acquire())!;
  await clock.advance(500);
  const second = (await f.acquire())!;
  t.ok(second, 'within stallMs another call goes out');
  await clock.advance(500);
  t.equal(f.answering, false, 'the first call has had no answer for stallMs (1 s)');
  for (let i = 0; i < 10; i++) t.equal(await f.acquire(), undefined, `check ${i} parked`);
  t.equal(f.active, 2, 'two calls held by the hung server, not twelve');
  hung.release('answered');
  t.same(events, ['recovered(true)@1000'], 'the first answer ends it: parked checks are retried promptly');
  t.equal(f.answering, true, 'the second call, out for 0.5 s, is within stallMs');
  second.release('answered');
  t.same(events, ['recovered(true)@1000'], 'recovered once');
});

t.test('a stall with only one call out lets a second go, then parks', async (t) => {
  const clock = new ManualClock(0);
  const { f } = flow(clock, 4);
  await f.acquire();
  await clock.advance(5_000);
  t.ok(await f.acquire(), 'a second call: the first may be one slow path');
  t.equal(await f.acquire(), undefined, 'a third is parked');
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
  const b = (await f.acquire())!;
  await clock.advance(1_000);
  t.equal(await f.acquire(), undefined, 'stalled: a static check is parked');
  const lease = await f.acquire(true);
  t.ok(lease, 'a lease renewal still goes out');
  t.equal(await f.acquire(true), undefined, 'a second urgent one is parked: the bound is two plus one');
  t.equal(f.active, 3);
  a.release('unreachable');
  t.equal(await f.acquire(true), undefined, 'down with two out: parked');
  lease!.release('answered');
  b.release('answered');
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
