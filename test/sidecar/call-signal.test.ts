// withCallSignal: one provider call's signal, aborted by the stop or the
// timeout; a call that ignores the signal still ends (its flow ticket must be
// released, or every other check of that backend is parked behind it).

import t from 'tap';
import { withCallSignal } from '../../agent/sidecar/call-signal.ts';

// the call's timer is unref'd (it must not keep a stopping agent alive): in
// the agent, its servers and watchers keep the loop turning; here, this does
const keepAlive = setInterval(() => {}, 1_000);
t.teardown(() => clearInterval(keepAlive));

t.test('a call that never settles and ignores its signal still fails at the timeout', async (t) => {
  const stop = new AbortController();
  const started = Date.now();
  await t.rejects(withCallSignal(stop.signal, () => new Promise<never>(() => {}), 100), { code: 'timeout', message: /longer than 0.1s/ });
  const took = Date.now() - started;
  t.ok(took >= 90 && took < 10_000, `ended after the timeout (${took} ms), not never`);
});

t.test('the stop ends a call that ignores its signal, with the stop reason', async (t) => {
  const stop = new AbortController();
  const call = withCallSignal(stop.signal, () => new Promise<never>(() => {}), 60_000);
  stop.abort(Object.assign(new Error('stopping'), { code: 'unavailable' }));
  await t.rejects(call, { code: 'unavailable', message: 'stopping' });
});

t.test('a call that answers gets its value, and its signal was live while it ran', async (t) => {
  const stop = new AbortController();
  let seen: AbortSignal | undefined;
  const v = await withCallSignal(stop.signal, async (signal) => {
    seen = signal;
    return 42;
  }, 60_000);
  t.equal(v, 42);
  t.equal(seen?.aborted, false);
});
