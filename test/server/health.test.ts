import t from 'tap';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentError } from '../../agent/errors.ts';
import { parseListenAddress } from '../../agent/server/listen-address.ts';

t.test('not ready until the first render; ready while everything is within TTL', async (t) => {
  const clock = new ManualClock(1_000_000);
  const h = new Health(clock);
  h.markFresh('db', clock.now(), 60_000);
  t.same(h.readiness(), { ready: false, rendered: false, stale: [] });
  h.markRendered();
  t.same(h.readiness(), { ready: true, rendered: true, stale: [] });
  t.equal(h.firstRenderAt(), 1_000_000);
});

t.test('a secret goes stale by time alone, and fresh again on refresh', async (t) => {
  const clock = new ManualClock(0);
  const h = new Health(clock);
  h.markRendered();
  h.markFresh('db', 0, 60_000);
  h.markFresh('cookie', 0); // no TTL: never stale
  await clock.advance(59_999);
  t.equal(h.readiness().ready, true);
  await clock.advance(1);
  h.markError('db', new AgentError('unavailable', 'vault unreachable'));
  t.same(h.readiness(), {
    ready: true,
    rendered: true,
    stale: [{ secret: 'db', staleSince: 60_000, lastRefreshAt: 0, lastError: { code: 'unavailable', at: 60_000 } }],
  }, 'stale but still valid (no lease): named, and the pod stays ready');
  t.equal(h.readiness({ fresh: true }).ready, false, 'the strict answer (/readyz?fresh): not ready once stale');
  await clock.advance(5000);
  h.markError('db', new Error('not ours'));
  t.same(h.readiness().stale[0]?.lastError, { code: 'internal', at: 65_000 }, 'foreign errors: code internal');
  h.markFresh('db', clock.now(), 60_000);
  t.same(h.readiness(), { ready: true, rendered: true, stale: [] });
  t.equal(h.lastRefreshAt('db'), 65_000);
  await clock.advance(120_000);
  h.forget('db');
  t.equal(h.readiness().ready, true, 'forgotten secrets no longer count');
});

t.test('a lease past its end is no longer valid: not ready, whatever the strictness', async (t) => {
  const clock = new ManualClock(0);
  const h = new Health(clock);
  h.markRendered();
  // a 100 s lease refreshed at 0: stale at 100 s (its remaining time), invalid from then
  h.markFresh('dbcreds', 0, 100_000, 100_000);
  // a static secret with a ttl, stale from 30 s
  h.markFresh('cookie', 0, 30_000);
  await clock.advance(50_000);
  t.same([h.readiness().ready, h.readiness({ fresh: true }).ready], [true, false], 'only the static secret is stale: ready, not fresh');
  await clock.advance(50_000);
  const r = h.readiness();
  t.equal(r.ready, false, 'the lease ended: its credentials no longer work');
  t.same(r.stale.map((s) => [s.secret, s.expired ?? false]), [['cookie', false], ['dbcreds', true]]);
  h.markFresh('dbcreds', clock.now(), 100_000, clock.now() + 100_000);
  t.equal(h.readiness().ready, true, 'a new lease: ready again while the static secret is still stale');
});

t.test('stale list is sorted by name', async (t) => {
  const clock = new ManualClock(0);
  const h = new Health(clock);
  h.markRendered();
  for (const n of ['zeta', 'alpha', 'mid']) h.markFresh(n, 0, 10);
  await clock.advance(10);
  t.same(h.readiness().stale.map((s) => s.secret), ['alpha', 'mid', 'zeta']);
});

t.test('listen addresses', async (t) => {
  t.same(parseListenAddress('127.0.0.1:9102'), { host: '127.0.0.1', port: 9102 });
  t.same(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  t.same(parseListenAddress(':9102'), { host: '0.0.0.0', port: 9102 });
  t.same(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['9102', '127.0.0.1', '127.0.0.1:99999', 'a b:1', '::1:80', '']) {
    const e = t.throws(() => parseListenAddress(bad)) as unknown as AgentError;
    t.equal(e.code, 'config', bad);
    t.match(e.message, /^server\.listen: ".*" is not host:port/);
  }
});
