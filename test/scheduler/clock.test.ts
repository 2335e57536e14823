import t from 'tap';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { realClock } from '../../agent/scheduler/clock.ts';

t.test('manual clock fires due timers in time order, with now() at their due time', async (t) => {
  const c = new ManualClock(1000);
  const fired: Array<[string, number]> = [];
  c.setTimeout(() => fired.push(['b', c.now()]), 200);
  c.setTimeout(() => fired.push(['a', c.now()]), 100);
  c.setTimeout(() => fired.push(['a2', c.now()]), 100);
  const late = c.setTimeout(() => fired.push(['never', c.now()]), 150);
  c.clearTimeout(late);
  await c.advance(150);
  t.same(fired, [['a', 1100], ['a2', 1100]], 'only due timers, ties in creation order');
  t.equal(c.now(), 1150);
  await c.advance(1000);
  t.same(fired.at(-1), ['b', 1200]);
  t.equal(c.pendingTimers, 0);
});

t.test('timers created by callbacks inside the window fire in the same advance', async (t) => {
  const c = new ManualClock(0);
  const fired: number[] = [];
  const tick = (): void => {
    fired.push(c.now());
    if (fired.length < 5) c.setTimeout(tick, 10);
  };
  c.setTimeout(tick, 10);
  await c.advance(35);
  t.same(fired, [10, 20, 30]);
  t.equal(c.nextDue(), 40);
});

t.test('sleep resolves on advance and rejects on abort', async (t) => {
  const c = new ManualClock(0);
  let done = false;
  const p = c.sleep(500).then(() => (done = true));
  await c.advance(499);
  t.notOk(done);
  await c.advance(1);
  await p;
  t.ok(done);
  const ac = new AbortController();
  const q = c.sleep(500, ac.signal);
  ac.abort(new Error('stop'));
  await t.rejects(q, { message: 'stop' });
  t.equal(c.pendingTimers, 0, 'aborted sleep leaves no timer');
  await t.rejects(c.sleep(1, AbortSignal.abort(new Error('already'))), { message: 'already' });
});

t.test('real clock: timers and clearTimeout work', async (t) => {
  const start = realClock.now();
  await realClock.sleep(20);
  t.ok(realClock.now() - start >= 15, 'slept');
  let fired = false;
  const h = realClock.setTimeout(() => (fired = true), 5);
  realClock.clearTimeout(h);
  await realClock.sleep(30);
  t.notOk(fired, 'cleared timer never fires');
});
