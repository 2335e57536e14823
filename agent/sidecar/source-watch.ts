// Watches the files the running agent was built from: template sources and
// the config file. A template edit goes to the loop (re-render); a config
// edit is only reported: providers, secrets and notifiers are wired once at
// start, and swapping them under a running loop (open connections, leases,
// tokens held by the old providers) is riskier than a restart, which
// Kubernetes does cheaply. So the agent says "restart to apply" and keeps
// serving with the config it started with.
//
// A file that is gone when its (debounced) event fires was deleted: a
// template's output keeps the last good render and the log says so; a deleted
// or broken config is reported as what it is, a restart that would fail.
//
// chokidar watches each file's directory (editors and kubelet replace files
// by rename; a watch on the old inode would go deaf) and bursts of events are
// debounced per file.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log/logger.ts';

export interface SourceWatchOptions {
  templateSources: string[];
  /** the config file; undefined when the config came from the environment */
  configFile: string | undefined;
  onTemplate(sourcePath: string): void;
  /** checks an edited config; resolves with the error a restart would meet, or undefined */
  checkConfig?: (file: string) => Promise<{ message: string; problems?: string[] } | undefined>;
  logger: Logger;
  debounceMs?: number;
}

export interface SourceWatch {
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchSources(opts: SourceWatchOptions): SourceWatch {
  const templates = new Set(opts.templateSources.map((p) => path.resolve(p)));
  const config = opts.configFile === undefined ? undefined : path.resolve(opts.configFile);
  const files = [...templates, ...(config ? [config] : [])];
  const timers = new Map<string, NodeJS.Timeout>();
  let watcher: FSWatcher | undefined;
  let closed = false;
  if (files.length === 0) return { ready: Promise.resolve(), close: async () => {} };

  const fire = (file: string): void => {
    if (closed) return;
    const present = existsSync(file);
    if (templates.has(file)) {
      if (present) opts.onTemplate(file);
      else opts.logger.warn({ file }, 'template source deleted; its file keeps the last good output, and is rendered again when the source is back');
    }
    if (file === config) void configChanged(file, present);
  };
  const configChanged = async (file: string, present: boolean): Promise<void> => {
    if (!present) {
      opts.logger.warn({ file }, 'config file deleted; the agent keeps running with the config it started with, but a restart would fail until the file is back');
      return;
    }
    const err = await opts.checkConfig?.(file).catch(() => undefined);
    if (closed) return;
    if (err) opts.logger.error({ file, err: err.message, problems: err.problems }, 'the edited config is broken; the agent keeps running with the config it started with, but a restart would fail: fix the config');
    else opts.logger.warn({ file }, 'config changed; restart the agent to apply (providers, secrets and notifiers are kept as they were at start)');
  };
  const onEvent = (p: string): void => {
    const file = path.resolve(p);
    if (!templates.has(file) && file !== config) return;
    clearTimeout(timers.get(file));
    timers.set(file, setTimeout(() => (timers.delete(file), fire(file)), opts.debounceMs ?? 200));
  };

  const dirs = [...new Set(files.map((f) => path.dirname(f)))];
  // loaded on first use: init never watches
  const ready = import('chokidar').then(({ watch }) => {
    if (closed) return;
    const w = watch(dirs, { ignoreInitial: true, depth: 0 });
    watcher = w;
    w.on('add', onEvent).on('change', onEvent).on('unlink', onEvent);
    w.on('error', (e) => opts.logger.warn({ err: (e as Error).message }, 'watching template sources failed; edits are not picked up until restart'));
    return new Promise<void>((r) => w.once('ready', () => r()));
  });
  return {
    ready,
    async close() {
      closed = true;
      for (const t of timers.values()) clearTimeout(t);
      await ready.catch(() => {});
      await watcher?.close();
    },
  };
}
