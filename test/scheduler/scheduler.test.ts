import t from 'tap';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Scheduler, type DueCheck } from '../../agent/scheduler/scheduler.ts';

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
  s.schedule('db', 20, 'static');
  s.trigger('db');
  await c.advance(20);
  t.same(starts, [['db', 10]], 'no second check while the first runs');
  release();
  await c.advance(0);
  t.same(starts, [['db', 10], ['db', 30]], 'held check delivered once after the first finished');
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
