// Render -> write -> notify, for the templates a change touches: a changed
// secret (through the ChangeBatcher) or an edited template source. Writes go
// through OutputRepair's queue and tell its guard what each file must hold;
// notifiers run when a file's bytes changed (or, notifyOn 'secrets', after
// every accepted change). The notifiers also learn which files are still
// unwritten (a failed write, retried at each check): a change is notified
// when part of it landed, and again, through notifyLate, when the rest does.

import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { writeOptionsFor } from '../pipeline/init.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { renderAll, type RenderedFile } from '../pipeline/render-all.ts';
import type { Notifier } from '../reload/notifier.ts';
import { runNotifiers } from '../reload/run-notifiers.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import type { SecretStore } from '../store/store.ts';
import type { WriteFile } from './loop-deps.ts';
import type { LateWrites, OutputRepair } from './output-repair.ts';

export interface RenderedFilesDeps {
  store: SecretStore;
  output: OutputRepair;
  write: WriteFile;
  notifiers: Notifier[];
  notifyOn: 'files' | 'secrets';
  health: Health;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  stopping: AbortSignal;
}

/** the templates that read any of these secrets */
export function dependents(templates: readonly PreparedTemplate[], names: Iterable<string>): PreparedTemplate[] {
  const set = new Set(names);
  return templates.filter((t) => [...t.secrets].some((s) => set.has(s)));
}

export class RenderedFiles {
  private readonly d: RenderedFilesDeps;

  constructor(deps: RenderedFilesDeps) {
    this.d = deps;
  }

  /** render templates, write the files whose bytes changed, then notify */
  async update(templates: readonly PreparedTemplate[], secrets: string[], logContext: Record<string, unknown>): Promise<void> {
    const { logger, metrics, output } = this.d;
    let rendered: RenderedFile[];
    try {
      rendered = renderAll([...templates], this.d.store.templateData());
    } catch (e) {
      const err = asAgentError(e, 're-render');
      for (const t of templates) metrics.rendered(t.config.destination, 'failed');
      logger.error({ ...logContext, err: err.message, problems: err.problems }, 're-render failed; files keep their last good content');
      return;
    }
    const files: string[] = [];
    await output.exclusive(async () => {
      for (const r of rendered) {
        const c = r.template.config;
        const opts = writeOptionsFor(c);
        // the newest render is what the file must hold from now on, written or not
        output.guard.expect(c.destination, r.bytes, opts);
        try {
          const outcome = await this.d.write(c.destination, r.bytes, opts);
          await output.guard.delivered(c.destination);
          this.d.health.markOutput(c.destination);
          metrics.rendered(c.destination, outcome === 'unchanged' ? 'unchanged' : 'written');
          logger.info({ file: c.destination, bytes: r.bytes.length, outcome, secrets: [...r.template.secrets] }, `template ${outcome}`);
          if (outcome === 'written') files.push(c.destination);
        } catch (e) {
          const err = asAgentError(e, `writing ${c.destination}`);
          output.guard.undelivered(c.destination);
          this.d.health.markOutput(c.destination, err, this.d.clock.now());
          metrics.rendered(c.destination, 'failed');
          logger.error({ file: c.destination, err: err.message }, 'writing a re-rendered file failed; it keeps its last good content, and the write is retried at the next check');
        }
      }
    });
    const notify = (this.d.notifyOn === 'secrets' && secrets.length > 0) || files.length > 0;
    if (!notify || this.d.notifiers.length === 0 || this.d.stopping.aborted) return;
    await this.notify(secrets, files);
  }

  /** files a repair wrote for the first time: their app never had those bytes.
   * notifyOn 'secrets' (exec restart): the change was notified when it was accepted. */
  async notifyLate(late: LateWrites): Promise<void> {
    if (late.files.length === 0 || this.d.notifyOn === 'secrets' || this.d.notifiers.length === 0 || this.d.stopping.aborted) return;
    await this.notify(late.secrets, late.files);
  }

  private async notify(secrets: string[], files: string[]): Promise<void> {
    const { logger, metrics } = this.d;
    const pending = this.d.output.guard.failing().sort();
    await runNotifiers(this.d.notifiers, { secrets, files, pending }, logger, {
      signal: this.d.stopping,
      now: () => this.d.clock.now(),
      onOutcome: (r) => metrics.reloaded(`reload[${r.index}]:${r.kind}`, r.ok),
    });
  }
}
