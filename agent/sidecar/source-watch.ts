// Watches the files the running agent was built from: template sources and
// the config file. A template edit goes to the loop (re-render); a config
// edit is only reported: providers, secrets and notifiers are wired once at
// start, and swapping them under a running loop (open connections, leases,
// tokens held by the old providers) is riskier than a restart, which
// Kubernetes does cheaply. So the agent says "restart to apply" and keeps
// serving with the config it started with.
//
// chokidar watches each file's directory (editors and kubelet replace files
// by rename; a watch on the old inode would go deaf) and bursts of events are
// debounced per file.

import path from 'node:path';
import type { FSWatcher } from 'chokidar';
import type { Logger } from '../log/logger.ts';

export interface SourceWatchOptions {
  templateSources: string[];
  /** the config file; undefined when the config came from the environment */
  configFile: string | undefined;
  onTemplate(sourcePath: string): void;
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
    if (templates.has(file)) opts.onTemplate(file);
    if (file === config) {
      opts.logger.warn({ file }, 'config changed; restart the agent to apply (providers, secrets and notifiers are kept as they were at start)');
    }
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
    w.on('add', onEvent).on('change', onEvent);
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
