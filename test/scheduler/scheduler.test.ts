import t from 'tap';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Scheduler, type DueCheck } from '../../agent/scheduler/scheduler.ts';
import { MAX_SCHEDULE_AHEAD_MS, MIN_CHECK_GAP_MS } from '../../agent/scheduler/timing.ts';

t.test('fires each secret at its time, one cycle for names due together', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const cycles: DueCheck[][] = [];
  s.onDue((checks) => void cycles.push(checks));
  s.schedule('db', 100, 'static');
  s.schedule('cookie', 100, 'static');
  s.schedule('creds', 250, 'leased');
  t.same(s.nextAt('creds'), { at: 250, kind: 'leased' });
  await c.advance(100);
  t.same(cycles, [[{ name: 'db', kind: 'static', dueAt: 100 }, { name: 'cookie', kind: 'static', dueAt: 100 }]]);
  await c.advance(200);
  t.same(cycles[1], [{ name: 'creds', kind: 'leased', dueAt: 250 }]);
  t.same(s.scheduled(), []);
});

t.test('rescheduling replaces the previous timer (one pending check per secret)', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const names: string[] = [];
  s.onDue((checks) => void names.push(...checks.map((x) => `${x.name}@${x.dueAt}`)));
  s.schedule('db', 100, 'static');
  s.schedule('db', 300, 'static');
  s.schedule('db', 200, 'static');
  await c.advance(1000);
  t.same(names, ['db@200']);
});

t.test('trigger plus a timer due in the same turn deliver the secret once', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const cycles: string[][] = [];
  s.onDue((checks) => void cycles.push(checks.map((x) => x.name)));
  s.schedule('a', 50, 'static');
  s.schedule('b', 50, 'static');
  await c.advance(49);
  s.trigger('a');
  s.trigger('a');
  await c.advance(1);
  t.same(cycles.flat().filter((n) => n === 'a').length, 1, 'a checked once');
  t.same(cycles.flat().sort(), ['a', 'b']);
});

t.test('a secret due while its check is running is held, then delivered once', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const starts: Array<[string, number]> = [];
  let active = 0;
  let maxActive = 0;
  let release!: () => void;
  s.onDue(async (checks) => {
    for (const x of checks) starts.push([x.name, c.now()]);
    active++;
    maxActive = Math.max(maxActive, active);
    if (starts.length === 1) await new Promise<void>((r) => (release = r));
    active--;
  });
  s.schedule('db', 10, 'static');
  await c.advance(10);
  // asked for 10 ms after the start: the floor (MIN_CHECK_GAP_MS) moves it to 260
  s.schedule('db', 20, 'static');
  t.same(s.nextAt('db'), { at: 10 + MIN_CHECK_GAP_MS.static, kind: 'static' });
  await c.advance(1490);
  s.trigger('db');
  await c.advance(10);
  t.same(starts, [['db', 10]], 'no second check while the first runs');
  release();
  await c.advance(0);
  t.same(starts, [['db', 10], ['db', 1510]], 'held check delivered once after the first finished');
  t.equal(maxActive, 1);
});

t.test('errors in the callback are reported; stop clears everything', async (t) => {
  const c = new ManualClock(0);
  const errors: unknown[] = [];
  const s = new Scheduler(c, (e) => errors.push(e));
  s.onDue(() => {
    throw new Error('check failed');
  });
  s.schedule('a', 5, 'token');
  await c.advance(5);
  t.equal(errors.length, 1);
  s.schedule('b', 100, 'static');
  s.cancel('b');
  t.same(s.scheduled(), []);
  s.schedule('c', 100, 'static');
  s.stop();
  t.equal(c.pendingTimers, 0);
  s.schedule('d', 100, 'static');
  t.same(s.scheduled(), [], 'stopped scheduler ignores schedule');
});

t.test('the floor: no name is checked in a tight loop, whoever asks', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const starts: number[] = [];
  // a caller that always wants the next check now (a lease of 0 s, a token TTL of -5)
  s.onDue((checks) => {
    starts.push(c.now());
    for (const x of checks) s.schedule(x.name, c.now(), x.kind);
  });
  s.schedule('creds', 0, 'leased');
  await c.advance(10 * 60_000);
  t.same(starts.slice(0, 9), [0, 1000, 3000, 7000, 15_000, 31_000, 63_000, 123_000, 183_000], 'a lease: waits 1 s, then doubling up to MAX_CHECK_GAP_MS (60 s)');
  t.equal(starts.length, 15, '15 checks in 10 minutes instead of one per timer turn');
  t.ok(starts.every((at, i) => i === 0 || at - starts[i - 1]! >= MIN_CHECK_GAP_MS.leased), 'never two starts closer than the floor');
});

t.test('the floor: triggers too soon after a check are planned at the floor, and a natural pace resets the backoff', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  const starts: number[] = [];
  s.onDue(() => void starts.push(c.now()));
  s.trigger('db');
  await c.advance(0);
  for (let i = 0; i < 50; i++) s.trigger('db'); // a watch that fires on every write
  await c.advance(249);
  t.same(starts, [0], 'none within the floor');
  await c.advance(1);
  t.same(starts, [0, 250], 'one at the floor for all fifty triggers');
  s.schedule('db', 6000, 'static');
  await c.advance(5750);
  s.schedule('db', 6100, 'static'); // sooner than the floor once more: 0.25 s again, not 0.5 s
  t.same(s.nextAt('db'), { at: 6250, kind: 'static' });
});

t.test('the floor: times that are not numbers or absurdly far are brought in range', async (t) => {
  const c = new ManualClock(0);
  const s = new Scheduler(c);
  s.onDue(() => {});
  s.schedule('nan', Number.NaN, 'leased');
  t.equal(s.nextAt('nan')?.at, 0, 'NaN is now, not a 1 ms timer loop');
  s.schedule('far', Number.POSITIVE_INFINITY, 'leased');
  t.equal(s.nextAt('far')?.at, MAX_SCHEDULE_AHEAD_MS);
  s.schedule('past', -1e300, 'static');
  t.equal(s.nextAt('past')?.at, -1e300, 'a past time is due at once');
});
