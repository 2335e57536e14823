import t from 'tap';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { ChangeBatcher } from '../../agent/scheduler/batcher.ts';

function collect(): { fires: Array<{ at: number; names: string[] }>; cb: (c: ManualClock) => (n: ReadonlySet<string>) => void } {
  const fires: Array<{ at: number; names: string[] }> = [];
  return { fires, cb: (c) => (names) => void fires.push({ at: c.now(), names: [...names].sort() }) };
}

t.test('waits min of quiet after the last change, then fires once with all names', async (t) => {
  const c = new ManualClock(0);
  const { fires, cb } = collect();
  const b = new ChangeBatcher(c, { minMs: 1000, maxMs: 10_000 }, cb(c));
  b.add('db');
  await c.advance(600);
  b.add('cookie', 'db');
  await c.advance(999);
  t.same(fires, [], 'quiet period restarted by the second change');
  await c.advance(1);
  t.same(fires, [{ at: 1600, names: ['cookie', 'db'] }]);
  await c.advance(60_000);
  t.equal(fires.length, 1, 'fires once');
});

t.test('never waits longer than max after the first change of a batch', async (t) => {
  const c = new ManualClock(0);
  const { fires, cb } = collect();
  const b = new ChangeBatcher(c, { minMs: 1000, maxMs: 3000 }, cb(c));
  // a change every 500 ms would postpone forever without max
  for (let i = 0; i < 10; i++) {
    b.add(`s${i}`);
    await c.advance(500);
  }
  t.equal(fires[0]?.at, 3000, 'fired at first change + max');
  t.same(fires[0]?.names, ['s0', 's1', 's2', 's3', 's4', 's5']);
  await c.advance(10_000);
  t.equal(fires.length, 2, 'the rest form a second batch');
  t.same(fires[1]?.names, ['s6', 's7', 's8', 's9']);
  t.equal(fires[1]?.at, 4500 + 1000, 'second batch: min after its last change');
});

t.test('max defaults to 4 * min', async (t) => {
  const c = new ManualClock(0);
  const { fires, cb } = collect();
  const b = new ChangeBatcher(c, { minMs: 100 }, cb(c));
  for (let i = 0; i < 20; i++) {
    b.add('x');
    await c.advance(50);
  }
  t.equal(fires[0]?.at, 400);
});

t.test('min 0 batches changes of the same turn and fires on the next', async (t) => {
  const c = new ManualClock(0);
  const { fires, cb } = collect();
  const b = new ChangeBatcher(c, { minMs: 0 }, cb(c));
  b.add('a');
  b.add('b');
  t.same(fires, []);
  await c.advance(0);
  t.same(fires, [{ at: 0, names: ['a', 'b'] }]);
});

t.test('a change during a running callback starts the next batch, never overlapping', async (t) => {
  const c = new ManualClock(0);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calls: string[][] = [];
  let running = 0;
  let maxRunning = 0;
  const b = new ChangeBatcher(c, { minMs: 10, maxMs: 100 }, async (names) => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    calls.push([...names]);
    if (calls.length === 1) await gate;
    running--;
  });
  b.add('a');
  await c.advance(10);
  b.add('b');
  await c.advance(50);
  t.same(calls, [['a']], 'second batch waits for the first');
  release();
  await b.idle();
  await c.advance(0);
  await b.idle();
  t.same(calls, [['a'], ['b']]);
  t.equal(maxRunning, 1);
});

t.test('a throwing callback is reported and later batches still fire', async (t) => {
  const c = new ManualClock(0);
  const errors: unknown[] = [];
  let n = 0;
  const b = new ChangeBatcher(c, { minMs: 5 }, () => {
    n++;
    if (n === 1) throw new Error('boom');
  }, (e) => errors.push(e));
  b.add('a');
  await c.advance(5);
  b.add('b');
  await c.advance(5);
  t.equal(n, 2);
  t.equal(errors.length, 1);
});

t.test('flush fires now; dispose drops pending; bad wait is refused', async (t) => {
  const c = new ManualClock(0);
  const { fires, cb } = collect();
  const b = new ChangeBatcher(c, { minMs: 1000 }, cb(c));
  b.add('a');
  await b.flush();
  t.same(fires, [{ at: 0, names: ['a'] }]);
  b.add('b');
  b.dispose();
  await c.advance(10_000);
  t.equal(fires.length, 1);
  t.equal(c.pendingTimers, 0);
  t.throws(() => new ChangeBatcher(c, { minMs: 10, maxMs: 5 }, () => {}), /need 0 <= min <= max/);
  t.throws(() => new ChangeBatcher(c, { minMs: -1 }, () => {}), RangeError);
});
