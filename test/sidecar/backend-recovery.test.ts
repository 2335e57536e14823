// One agent's checks against a backend that stops answering, under the manual
// clock: checks spread over the interval on per-secret phases, a hung backend
// holds one call (the rest wait for an answer to it, then are parked, not
// queued), and once it
// answers again every parked or failed check is retried within the recovery
// window, after which each secret is back on its own phase.

import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { AgentError } from '../../agent/errors.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { STALL_MS } from '../../agent/scheduler/backend-flow.ts';
import { RECOVERY_HOLD_OFF_MS, recoverySpreadMs } from '../../agent/scheduler/timing.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const T0 = Date.UTC(2026, 0, 1);
const INTERVAL = 10_000;
const NAMES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7'];
const VALUES = NAMES.map((_, i) => `canary-Phz${i}-Kw7q-Value-${'abcdefgh'[i]}`);

const CONFIG = `
providers: { vault: { type: file, path: ./unused } }
secrets:
${NAMES.map((n) => `  ${n}: { provider: vault, ttl: 25s }`).join('\n')}
templates:
  - { contents: "${NAMES.map((n) => `{{${n}.value}}`).join(' ')}", destination: all.txt }
output: { root: ./out }
refresh: { interval: 10s, jitter: 0.1, backoff: { initial: 10s, max: 5m } }
`;

async function fixture(t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'backend-recovery-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  const config = parseConfigText(CONFIG, join(dir, 'agent.yaml'), dir);
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('vault', () => clock.now());
  NAMES.forEach((n, i) => provider.put(n, { value: VALUES[i]! }));
  const providers = new Map([['vault', provider as never]]);
  const { logger, text } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [], health, metrics, logger, clock, rand: seededRandom(19) });
  loop.start();
  t.teardown(() => loop.stop());
  t.teardown(() => forgetSecretValues());
  /** in steps, so that real file I/O started by the loop settles between
   * timers; idle: false while calls hang (waiting for them would never end) */
  const advance = async (ms: number, opts: { idle?: boolean } = {}): Promise<void> => {
    for (let left = ms; left > 0; left -= 250) {
      await clock.advance(Math.min(250, left));
      if (opts.idle !== false) await loop.idle();
    }
  };
  /** when each secret was checked, by name */
  const checks = (from = 0): Map<string, number[]> => {
    const m = new Map<string, number[]>(NAMES.map((n) => [n, []]));
    for (const l of provider.log) if (l.at >= from && l.at > T0) m.get(l.call.split(':')[1]!)?.push(l.at);
    return m;
  };
  return { clock, provider, loop, health, advance, checks, logs: text };
}

t.test('checks are spread over the interval on per-secret phases, each gap within the interval ± jitter', async (t) => {
  const f = await fixture(t);
  await f.advance(100_000);
  const all = f.checks();
  const firsts = NAMES.map((n) => all.get(n)![0]! - T0).sort((a, b) => a - b);
  t.ok(new Set(firsts.map((x) => Math.floor(x / 1000))).size >= 5, `first checks in different seconds, not one burst: ${firsts.join(', ')} ms`);
  for (const [name, at] of all) {
    const gaps = at.slice(1).map((x, i) => x - at[i]!);
    t.ok(gaps.length >= 8 && gaps.every((g) => g >= 0.9 * INTERVAL && g <= 1.1 * INTERVAL), `${name}: gaps ${Math.min(...gaps)}..${Math.max(...gaps)} ms`);
  }
});

t.test('a hung backend holds one call; when it answers again every check is retried within the recovery window', async (t) => {
  const f = await fixture(t);
  await f.advance(30_000);
  const stoppedAt = f.clock.now();
  f.provider.hang();
  await f.advance(30_000, { idle: false });
  const sent = f.provider.log.filter((l) => l.at >= stoppedAt).map((l) => l.at);
  t.equal(sent.length, f.provider.waiting, 'every call sent since is still held: no retries piled up');
  // a call goes while another is out only once the backend answered since: the hung one never is
  t.equal(sent.length, 1, `calls held by the hung backend: ${sent.length} (the others are parked)`);
  t.ok(f.provider.log.filter((l) => l.at >= stoppedAt + STALL_MS).length === 0, 'nothing sent after the stall was seen');
  t.ok(f.health.readiness().stale.length > 0, 'values went stale (ttl 25 s)');
  t.equal(f.health.readiness().ready, true, 'static values stay valid: still ready');

  const resumedAt = f.clock.now();
  f.provider.resume();
  const window = recoverySpreadMs(INTERVAL);
  await f.advance(RECOVERY_HOLD_OFF_MS + window + 500);
  // a call the hung backend held is answered at once; every other check is
  // retried within the window, which starts a second later (out of the burst
  // of every agent's held call)
  // the call the hung backend held is answered at once; every other check is
  // retried within the window, which starts a second later (out of the burst
  // of every agent's held call)
  const held = new Set(f.provider.log.filter((l) => l.at >= stoppedAt && l.at < resumedAt).map((l) => l.call.split(':')[1]!));
  t.equal(held.size, 1);
  for (const name of held) t.ok(f.health.lastRefreshAt(name)! >= resumedAt, `${name}: the held call, answered`);
  const retried = f.checks(resumedAt);
  for (const name of NAMES.filter((n) => !held.has(n))) {
    const first = retried.get(name)![0]! - resumedAt;
    t.ok(first >= RECOVERY_HOLD_OFF_MS && first <= RECOVERY_HOLD_OFF_MS + window, `${name} retried ${first} ms after the backend answered`);
  }
  t.same(f.health.readiness({ fresh: true }).stale, [], 'every value fresh again');
  t.match(f.logs(), /backend answers again: retrying its failed checks now/);

  // then back on their phases: one check per secret per interval, not a second wave
  const settled = f.clock.now();
  await f.advance(3 * INTERVAL);
  const later = f.checks(settled);
  for (const [name, at] of later) t.ok(at.length >= 2 && at.length <= 4, `${name}: ${at.length} checks in 3 intervals`);
  assertNoLeak(t, f.logs(), VALUES);
});

t.test('refused connections: the first retries of failed checks are spread (full jitter), not one wave', async (t) => {
  const f = await fixture(t);
  await f.advance(20_000);
  const failedFrom = f.clock.now();
  for (const n of NAMES) f.provider.failNext(n, new AgentError('unavailable', 'connect ECONNREFUSED 127.0.0.1:8200'), 1);
  await f.advance(INTERVAL + 10_000);
  const calls = f.checks(failedFrom);
  const retries = NAMES.map((n) => calls.get(n)![1]).filter((x): x is number => x !== undefined);
  t.equal(retries.length, NAMES.length, 'every failed check was retried');
  t.ok(new Set(retries.map((x) => Math.floor(x / 1000))).size >= 4, `retries spread over seconds: ${retries.map((x) => x - failedFrom).join(', ')} ms`);
  t.same(f.health.readiness({ fresh: true }).stale, []);
});
