// The rendered files as the agent left them. Holds the OutputGuard (the last
// good render of each file) and the one queue that file writes and repairs go
// through: a repair must never put back bytes that a render pass is replacing.
//
//   expectInitOutput(rendered)  what init wrote is what is kept from now on
//   exclusive(fn)               run a write pass alone
//   repair()                    stat every file, rewrite what was deleted,
//                               edited by someone else, or never written;
//                               returns the files written late (their app
//                               never had those bytes: notifiers must run)

import type { Logger } from '../log/logger.ts';
import { writeOptionsFor } from '../pipeline/init.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import type { RenderedFile } from '../pipeline/render-all.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import { OutputGuard, stampOfSync, type Repair } from '../writer/output-guard.ts';
import type { WriteFile } from './loop-deps.ts';

export interface OutputRepairDeps {
  write: WriteFile;
  logger: Logger;
  metrics: AgentMetrics;
  health: Health;
  clock: Clock;
  /** the templates in use now (an edited source replaces its entry) */
  templates(): readonly PreparedTemplate[];
  stopping: AbortSignal;
}

/** files a repair wrote for the first time, and the secrets they hold */
export interface LateWrites {
  secrets: string[];
  files: string[];
}

export class OutputRepair {
  readonly guard: OutputGuard;
  private readonly d: OutputRepairDeps;
  private queue: Promise<unknown> = Promise.resolve();
  /** destinations whose repair keeps failing: logged once per streak, not every cycle */
  private readonly failing = new Set<string>();

  constructor(deps: OutputRepairDeps) {
    this.d = deps;
    this.guard = new OutputGuard(deps.write);
  }

  expectInitOutput(rendered: readonly RenderedFile[]): void {
    for (const r of rendered) {
      const c = r.template.config;
      this.guard.expect(c.destination, r.bytes, writeOptionsFor(c), stampOfSync(c.destination));
    }
  }

  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  async repair(): Promise<LateWrites> {
    const { logger, metrics, health } = this.d;
    const repairs = await this.exclusive(() => (this.d.stopping.aborted ? Promise.resolve([] as Repair[]) : this.guard.check()));
    const files: string[] = [];
    const secrets = new Set<string>();
    for (const r of repairs) {
      if (!r.ok) {
        metrics.outputRestored(r.destination, r.reason, false);
        health.markOutput(r.destination, r.err, this.d.clock.now());
        const first = !this.failing.has(r.destination);
        this.failing.add(r.destination);
        logger[first ? 'error' : 'debug']({ file: r.destination, reason: r.reason, err: r.err.message }, 'restoring a rendered file failed; retrying at the next check');
        continue;
      }
      this.failing.delete(r.destination);
      health.markOutput(r.destination);
      if (r.outcome === 'unchanged') {
        logger.debug({ file: r.destination, reason: r.reason }, 'rendered file touched but its content and mode are as written');
        continue;
      }
      metrics.outputRestored(r.destination, r.reason, true);
      if (r.reason === 'unwritten') {
        logger.info({ file: r.destination, bytes: r.bytes.length, outcome: r.outcome }, 'rendered file written after an earlier failed write');
        if (r.outcome === 'written') {
          files.push(r.destination);
          for (const t of this.d.templates()) if (t.config.destination === r.destination) for (const s of t.secrets) secrets.add(s);
        }
      } else {
        logger.warn({ file: r.destination, reason: r.reason, bytes: r.bytes.length, outcome: r.outcome }, `rendered file was ${r.reason === 'missing' ? 'deleted' : 'changed'} on disk; restored from the last good render`);
      }
    }
    return { secrets: [...secrets].sort(), files };
  }
}
