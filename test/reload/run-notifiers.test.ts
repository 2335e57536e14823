import t from 'tap';
import { runNotifiers, type NotifierResult } from '../../agent/reload/run-notifiers.ts';
import type { ChangeSet, Notifier, Outcome } from '../../agent/reload/notifier.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'canary-Run-Notifiers-7f3e9c2a';
const change: ChangeSet = { secrets: ['db'], files: ['/run/secrets/erlmcp.env'] };

function fake(kind: string, behave: (signal: AbortSignal) => Promise<Outcome>, timeoutMs = 1000): Notifier & { calls: ChangeSet[] } {
  const calls: ChangeSet[] = [];
  return { kind, timeoutMs, calls, describe: () => `fake ${kind}`, notify: (c, s) => (calls.push(c), behave(s)) };
}

t.beforeEach(() => registerSecretValue(CANARY));
t.afterEach(() => forgetSecretValues());

t.test('runs in order, continues after a failure, reports every outcome', async (t) => {
  const order: string[] = [];
  const a = fake('a', async () => (order.push('a'), { ok: true, detail: 'fine', durationMs: 1 }));
  const b = fake('b', async () => (order.push('b'), { ok: false, detail: 'exit 3', durationMs: 2 }));
  const c = fake('c', async () => (order.push('c'), { ok: true, detail: 'fine', durationMs: 3 }));
  const { logger, text } = memoryLogger();
  const seen: NotifierResult[] = [];
  const results = await runNotifiers([a, b, c], change, logger, { onOutcome: (r) => seen.push(r) });
  t.same(order, ['a', 'b', 'c']);
  t.same(results.map((r) => [r.kind, r.index, r.ok]), [['a', 0, true], ['b', 1, false], ['c', 2, true]]);
  t.same(seen, results);
  t.same(a.calls, [change]);
  const lines = text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => [l.level, l.notifier, l.ok]), [['info', 'a', true], ['warn', 'b', false], ['info', 'c', true]]);
  t.match(lines[1]?.msg, /reload\[1\] \(b\) failed/);
});

t.test('a notifier that ignores its timeout is cut off; the next one still runs', async (t) => {
  const hung = fake('hung', () => new Promise<Outcome>(() => {}), 50);
  const after = fake('after', async () => ({ ok: true, detail: 'ok', durationMs: 0 }));
  const { logger } = memoryLogger();
  const results = await runNotifiers([hung, after], change, logger);
  t.equal(results[0]?.ok, false);
  t.equal(results[0]?.detail, 'timed out after 50 ms');
  t.equal(results[1]?.ok, true);
});

t.test('a notifier gets an abort signal at its timeout', async (t) => {
  let sawAbort = false;
  const polite = fake('polite', (signal) => new Promise<Outcome>((resolve) => signal.addEventListener('abort', () => {
    sawAbort = true;
    resolve({ ok: false, detail: 'stopped', durationMs: 0 });
  })), 30);
  const { logger } = memoryLogger();
  await runNotifiers([polite], change, logger);
  t.ok(sawAbort);
});

t.test('shutdown cancels: outer signal aborts the running notifier', async (t) => {
  const ac = new AbortController();
  const slow = fake('slow', () => new Promise<Outcome>(() => {}), 60_000);
  const { logger } = memoryLogger();
  setTimeout(() => ac.abort(), 20);
  const [r] = await runNotifiers([slow], change, logger, { signal: ac.signal });
  t.equal(r?.detail, 'cancelled (agent shutting down)');
});

t.test('a throwing notifier becomes a failed outcome; values in details are scrubbed', async (t) => {
  const thrower = fake('thrower', async () => {
    throw new TypeError(`bad thing near ${CANARY}`);
  });
  const leaky = fake('leaky', async () => ({ ok: false, detail: `server said ${CANARY}`, durationMs: 0 }));
  const { logger, text } = memoryLogger();
  const results = await runNotifiers([thrower, leaky], change, logger);
  t.match(results[0]?.detail, /^notifier threw TypeError: bad thing near \[REDACTED\]/);
  t.equal(results[1]?.detail, 'server said [REDACTED]');
  assertNoLeak(t, [text(), JSON.stringify(results)], [CANARY]);
});
