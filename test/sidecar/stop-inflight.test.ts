// SIGTERM while a re-rendered file is being written: stop() lets that write
// finish (the file holds the complete new content) before it resolves, and
// nothing runs after it (no notifier, no further checks).

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../agent/config/load.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import type { Notifier } from '../../agent/reload/notifier.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import { writeAtomic, type WriteOptions } from '../../agent/writer/atomic-write.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'canary-Stop-First-Pw-Rr5Kd1';
const PW2 = 'canary-Stop-Second-Pw-Yy2Nm6';

t.test('stop() waits for the write in flight, then nothing more runs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stop-inflight-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(() => forgetSecretValues());
  const clock = new ManualClock();
  const config = parseConfigText(
    `providers: { mem: { type: file, path: ./unused } }
secrets: { db: { provider: mem } }
templates: [ { contents: "{{db.password}}", destination: pw.txt } ]
output: { root: ./out }
refresh: { interval: 10s, jitter: 0 }
`,
    join(dir, 'agent.yaml'),
    dir,
  );
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('mem', () => clock.now());
  provider.put('db', { password: PW1 });
  const providers = new Map([['mem', provider as never]]);
  const { logger, text } = memoryLogger();
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let writeStarted!: () => void;
  const started = new Promise<void>((r) => (writeStarted = r));
  const write = async (dest: string, bytes: Buffer, opts: WriteOptions) => {
    writeStarted();
    await gate; // the disk is slow
    return writeAtomic(dest, bytes, opts);
  };
  let notified = 0;
  const notifier: Notifier = { kind: 'count', timeoutMs: 1000, describe: () => 'count', notify: async () => (notified++, { ok: true, detail: '', durationMs: 0 }) };
  const health = new Health(clock);
  const loop = new RefreshLoop({ config, templates, providers, store, notifiers: [notifier], health, metrics: new AgentMetrics({ clock, health, version: 't' }), logger, clock, rand: () => 0.5, write });
  loop.start();

  provider.put('db', { password: PW2 });
  await clock.advance(10_000);
  await clock.advance(0);
  await started;
  let stopped = false;
  const stopping = loop.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(stopped, false, 'stop waits while the write is in flight');
  release();
  await stopping;
  t.equal(readFileSync(join(dir, 'out/pw.txt'), 'utf8'), PW2, 'the write in flight completed');
  t.equal(notified, 0, 'no notifier after the stop began');
  const calls = provider.calls.length;
  await clock.advance(60_000);
  t.equal(provider.calls.length, calls, 'no checks after stop');
  t.equal(clock.pendingTimers, 0, 'no timers left');
  assertNoLeak(t, text(), [PW1, PW2]);
});
