// Rendered files are stat-ed at most once per refresh interval (the shortest
// of any secret), not after every batch of secret checks: with one jittered
// timer per secret, per-batch checks cost a stat of every file per secret
// check (issue 16, found item 1). A file is still put back within about one
// interval.

import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { OutputCheckPacer, outputCheckPeriod } from '../../agent/sidecar/output-check-pacer.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const T0 = Date.UTC(2026, 0, 1);

t.test('the pacer runs a pass at most once per period and never two at once', async (t) => {
  const clock = new ManualClock(T0);
  const pacer = new OutputCheckPacer(clock, 1000);
  let runs = 0;
  let finish: () => void = () => {};
  const run = () => {
    runs++;
    return new Promise<void>((r) => (finish = r));
  };
  /** the running pass ends */
  const settle = async () => {
    finish();
    await new Promise((r) => setImmediate(r));
  };
  pacer.afterChecks(run);
  t.equal(runs, 1, 'the first batch checks the files');
  await clock.advance(1500);
  pacer.afterChecks(run);
  t.equal(runs, 1, 'not while the last pass is still running, even when one is due');
  await settle();
  pacer.afterChecks(run);
  t.equal(runs, 2, 'a due pass runs once the last one settled');
  await settle();
  for (let i = 0; i < 8; i++) {
    await clock.advance(100);
    pacer.afterChecks(run);
  }
  t.equal(runs, 2, 'eight batches within 0.8 of a period: no pass');
  await clock.advance(100);
  pacer.afterChecks(run);
  t.equal(runs, 3, '0.9 of a period after the last pass (checks jitter and take time): the next');
  await settle();
  await clock.advance(5000);
  pacer.afterChecks(() => Promise.reject(new Error('stat failed')));
  await new Promise((r) => setImmediate(r));
  await clock.advance(1000);
  pacer.afterChecks(run);
  t.equal(runs, 4, 'a failed pass does not block the next');
  await settle();
  await clock.advance(100);
  pacer.afterChecks(run, true);
  t.equal(runs, 5, 'a pending failed write is retried at the next check, inside the period');
  pacer.afterChecks(run, true);
  t.equal(runs, 5, 'but never two passes at once');
});

t.test('its own timer tries a pass every period, and stop() ends it', async (t) => {
  const clock = new ManualClock(T0);
  const pacer = new OutputCheckPacer(clock, 0);
  let runs = 0;
  pacer.start(async () => void runs++);
  await clock.advance(999);
  t.equal(runs, 0, 'a period of 0 (jitter 1) still waits a second on the timer, never a tight loop');
  await clock.advance(1);
  t.equal(runs, 1);
  await clock.advance(3000);
  t.equal(runs, 4, 'one pass a second');
  pacer.stop();
  await clock.advance(5000);
  t.equal(runs, 4, 'none after stop');
});

t.test('the period is the shortest refresh interval of any secret, less the jitter', async (t) => {
  t.equal(outputCheckPeriod(60_000, 0, []), 60_000);
  t.equal(outputCheckPeriod(60_000, 0, [{ refreshMs: 90_000 }, {}, { refreshMs: 5_000 }]), 5_000);
  t.equal(outputCheckPeriod(1_000, 0, [{ refreshMs: 90_000 }]), 1_000);
  t.equal(outputCheckPeriod(60_000, 0.1, []), 54_000, 'a check jittered early still finds a pass due');
});

/** a refresh loop over a memory provider (secrets a = PW, b = plain-b) with the files under dir/out */
async function startLoop(t: Test, configYaml: string, rand: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'output-pacer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  const config = parseConfigText(configYaml, join(dir, 'agent.yaml'), dir);
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('mem', () => clock.now());
  provider.put('a', { value: PW });
  provider.put('b', { value: 'plain-b' });
  const providers = new Map([['mem', provider as never]]);
  const { logger, text } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [], health, metrics, logger, clock, rand });
  loop.start();
  t.teardown(() => loop.stop());
  t.teardown(() => forgetSecretValues());
  const advanceTo = async (s: number) => {
    await clock.advance(T0 + s * 1000 - clock.now());
    await loop.idle();
  };
  return { loop, text, advanceTo, file: join(dir, 'out/both.txt') };
}

const PW = 'canary-Pacer-Password-7Hq2Lm';

/** secrets a (every 60 s) and b (every bRefresh) rendered into both.txt */
function configYaml(bRefresh: string, refresh: string): string {
  return `providers: { mem: { type: file, path: ./unused } }
secrets:
  a: { provider: mem, refresh: 60s }
  b: { provider: mem, refresh: ${bRefresh} }
templates: [ { contents: "{{a.value}} {{b.value}}", destination: both.txt } ]
output: { root: ./out }
refresh: ${refresh}
`;
}

t.test('in the refresh loop: a deleted file waits for the next pass, not the next secret check', async (t) => {
  // a: every 60 s, b: every 90 s, no jitter: batches at 60, 90, 120, 180 s
  const { text, advanceTo, file } = await startLoop(t, configYaml('90s', '{ interval: 5m, jitter: 0 }'), () => 0.5);

  await advanceTo(60); // a checked; a pass (the first)
  rmSync(file);
  await advanceTo(90); // b checked, 30 s after the last pass
  t.notOk(existsSync(file), 'a secret check inside the period does not stat the files');
  await advanceTo(120); // a checked, a period after the last pass
  t.equal(readFileSync(file, 'utf8'), `${PW} plain-b`, 'put back at the next pass, one interval (60 s) later');
  t.match(text(), /rendered file was deleted on disk; restored from the last good render/);
  assertNoLeak(t, text(), [PW]);
});

const ONE_SECRET = configYaml('1h', '{ interval: 1h, jitter: 0.1 }');

t.test('with jitter, every check of the fastest secret may stat the files: a deleted file is back within one of its intervals, not two', async (t) => {
  // rand 0: a is checked every 54 s (60 s - 10%), less than the 60 s period
  const { advanceTo, file } = await startLoop(t, ONE_SECRET, () => 0);
  await advanceTo(54); // a checked; the first pass
  rmSync(file);
  await advanceTo(108); // a checked again, one (jittered) interval later
  t.equal(readFileSync(file, 'utf8'), `${PW} plain-b`, 'put back at the next check of a');
});


t.test('SIGHUP (recheck) stats the files after the static checks, even inside the period', async (t) => {
  const { loop, text, advanceTo, file } = await startLoop(t, ONE_SECRET, () => 0.5);
  await advanceTo(60); // a checked; a pass
  rmSync(file);
  await advanceTo(70);
  loop.recheck();
  await advanceTo(71);
  t.equal(readFileSync(file, 'utf8'), `${PW} plain-b`, 'the operator asked: the file is put back now');
  t.match(text(), /rendered file was deleted on disk; restored from the last good render/);
  assertNoLeak(t, text(), [PW]);
});
