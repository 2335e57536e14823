// A RefreshLoop over the memory provider on a ManualClock, after a real
// runInit into a temp dir: for tests of what the loop does between checks
// (writes, repairs, stop) without any backend or real time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { parseConfigText } from '../../agent/config/load.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { runInit } from '../../agent/pipeline/init.ts';
import { prepareTemplates } from '../../agent/pipeline/prepare-templates.ts';
import type { ChangeSet, Notifier } from '../../agent/reload/notifier.ts';
import { ManualClock } from '../../agent/scheduler/manual-clock.ts';
import { Health } from '../../agent/server/health.ts';
import { AgentMetrics } from '../../agent/server/metrics.ts';
import { RefreshLoop } from '../../agent/sidecar/refresh-loop.ts';
import type { WriteOptions, WriteOutcome } from '../../agent/writer/atomic-write.ts';
import { MemoryProvider } from '../fakes/memory-provider.ts';
import { memoryLogger } from './memory-logger.ts';

export interface MemoryLoop {
  dir: string;
  clock: ManualClock;
  provider: MemoryProvider;
  loop: RefreshLoop;
  health: Health;
  /** every change the loop's one notifier was given */
  notified: ChangeSet[];
  logs(): string;
}

export interface MemoryLoopOptions {
  /** secrets (all on provider `mem`), templates and output, in config YAML */
  body: string;
  /** each secret's first value */
  values: Record<string, Record<string, string>>;
  logLevel?: Parameters<typeof memoryLogger>[0];
  write?: (destination: string, bytes: Buffer, opts: WriteOptions) => Promise<WriteOutcome>;
}

/** started; stopped at teardown */
export async function memoryLoop(t: Test, opts: MemoryLoopOptions): Promise<MemoryLoop> {
  const dir = mkdtempSync(join(tmpdir(), 'memory-loop-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.teardown(() => forgetSecretValues());
  const clock = new ManualClock();
  const config = parseConfigText(`providers: { mem: { type: file, path: ./unused } }\n${opts.body}`, join(dir, 'agent.yaml'), dir);
  const templates = await prepareTemplates(config);
  const provider = new MemoryProvider('mem', () => clock.now());
  for (const [name, data] of Object.entries(opts.values)) provider.put(name, data);
  const providers = new Map([['mem', provider as never]]);
  const { logger, text } = memoryLogger(opts.logLevel);
  const { store } = await runInit({ config, templates, providers, logger, now: () => clock.now() });
  const notified: ChangeSet[] = [];
  const notifier: Notifier = { kind: 'rec', timeoutMs: 1000, describe: () => 'rec', notify: async (c) => (notified.push(c), { ok: true, detail: '', durationMs: 0 }) };
  const health = new Health(clock);
  const loop = new RefreshLoop({
    config,
    templates,
    providers,
    store,
    notifiers: [notifier],
    health,
    metrics: new AgentMetrics({ clock, health, version: 't' }),
    logger,
    clock,
    rand: () => 0.5,
    ...(opts.write ? { write: opts.write } : {}),
  });
  loop.start();
  t.teardown(() => loop.stop());
  return { dir, clock, provider, loop, health, notified, logs: text };
}
