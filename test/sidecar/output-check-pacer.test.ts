// Rendered files are stat-ed at most once per refresh interval (the shortest
// of any secret), not after every batch of secret checks: with one jittered
// timer per secret, per-batch checks cost a stat of every file per secret
// check (issue 16, found item 1). A file is still put back within about one
// interval.

import t from 'tap';
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

t.test('the period is the shortest refresh interval of any secret', async (t) => {
  t.equal(outputCheckPeriod(60_000, []), 60_000);
  t.equal(outputCheckPeriod(60_000, [{ refreshMs: 90_000 }, {}, { refreshMs: 5_000 }]), 5_000);
  t.equal(outputCheckPeriod(1_000, [{ refreshMs: 90_000 }]), 1_000);
});

t.test('in the refresh loop: a deleted file waits for the next pass, not the next secret check', async (t) => {
  const PW = 'canary-Pacer-Password-7Hq2Lm';
  const dir = mkdtempSync(join(tmpdir(), 'output-pacer-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(T0);
  // a: every 60 s, b: every 90 s, no jitter: batches at 60, 90, 120, 180 s
  const config = parseConfigText(
    `providers: { mem: { type: file, path: ./unused } }
secrets:
  a: { provider: mem, refresh: 60s }
  b: { provider: mem, refresh: 90s }
templates: [ { contents: "{{a.value}} {{b.value}}", destination: both.txt } ]
output: { root: ./out }
refresh: { interval: 5m, jitter: 0 }
`,
    join(dir, 'agent.yaml'),
    dir,
  );
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('mem', () => clock.now());
  provider.put('a', { value: PW });
  provider.put('b', { value: 'plain-b' });
  const providers = new Map([['mem', provider as never]]);
  const { logger, text } = memoryLogger('debug');
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const health = new Health(clock);
  const metrics = new AgentMetrics({ clock, health, version: 'test' });
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [], health, metrics, logger, clock, rand: () => 0.5 });
  loop.start();
  t.teardown(() => loop.stop());
  t.teardown(() => forgetSecretValues());
  const file = join(dir, 'out/both.txt');
  const advanceTo = async (s: number) => {
    await clock.advance(T0 + s * 1000 - clock.now());
    await loop.idle();
  };

  await advanceTo(60); // a checked; a pass (the first)
  rmSync(file);
  await advanceTo(90); // b checked, 30 s after the last pass
  t.notOk(existsSync(file), 'a secret check inside the period does not stat the files');
  await advanceTo(120); // a checked, a period after the last pass
  t.equal(readFileSync(file, 'utf8'), `${PW} plain-b`, 'put back at the next pass, one interval (60 s) later');
  t.match(text(), /rendered file was deleted on disk; restored from the last good render/);
  assertNoLeak(t, text(), [PW]);
});
