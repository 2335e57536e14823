// Runs reload notifiers in config order, each under its own timeout, logging
// each outcome. A failure does not stop the later ones: each is an
// independent way of telling the application, and skipping the rest would
// leave it on old values for no gain.

import type { Logger } from '../log/logger.ts';
import { scrub } from '../log/secret-registry.ts';
import type { ChangeSet, Notifier, Outcome } from './notifier.ts';

export interface NotifierResult extends Outcome {
  kind: string;
  /** position in `reload:` (0-based), for config paths and metric labels */
  index: number;
}

export interface RunNotifiersOptions {
  /** aborts every notifier (shutdown) */
  signal?: AbortSignal;
  /** called after each notifier, e.g. to count outcomes in metrics */
  onOutcome?(result: NotifierResult): void;
  /** epoch-ms clock for durations when a notifier throws; default Date.now */
  now?: () => number;
}

export async function runNotifiers(list: readonly Notifier[], change: ChangeSet, logger: Logger, opts: RunNotifiersOptions = {}): Promise<NotifierResult[]> {
  const now = opts.now ?? Date.now;
  const results: NotifierResult[] = [];
  for (const [index, n] of list.entries()) {
    const started = now();
    const outcome = await runOne(n, change, opts.signal, started, now);
    const result: NotifierResult = { ...outcome, detail: scrub(outcome.detail), kind: n.kind, index };
    const fields = { notifier: n.kind, index, target: scrub(n.describe()), ok: result.ok, durationMs: result.durationMs, detail: result.detail };
    if (result.ok) logger.info(fields, 'reload notifier succeeded');
    else logger.warn(fields, `reload notifier reload[${index}] (${n.kind}) failed`);
    opts.onOutcome?.(result);
    results.push(result);
  }
  return results;
}

async function runOne(n: Notifier, change: ChangeSet, outer: AbortSignal | undefined, started: number, now: () => number): Promise<Outcome> {
  // our own ref'd timer, not AbortSignal.timeout (unref'd): a hung notifier
  // must still be cut off when nothing else keeps the event loop busy
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new DOMException(`timed out after ${n.timeoutMs} ms`, 'TimeoutError')), n.timeoutMs);
  const signal = outer ? AbortSignal.any([outer, timeout.signal]) : timeout.signal;
  // a notifier that ignores its signal must not hang the loop: race it
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<Outcome>((resolve) => {
    onAbort = () =>
      resolve({
        ok: false,
        detail: timeout.signal.aborted ? `timed out after ${n.timeoutMs} ms` : 'cancelled (agent shutting down)',
        durationMs: now() - started,
      });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([n.notify(change, signal), aborted]);
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ok: false, detail: `notifier threw ${why}`, durationMs: now() - started };
  } finally {
    clearTimeout(timer);
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
