// Push notification for one file-backed secret. chokidar watches the
// directory that holds the secret (not the secret itself: editors and
// kubelet replace files by rename, and a watch on the old inode would go
// deaf), filtered to the paths that can change the secret. Bursts of events
// (kubelet writes a new timestamped dir, swaps ..data, deletes the old dir)
// are debounced, and onChange fires only when the secret's content version,
// or the error it now fails with, differs from what it was.

import type { FSWatcher } from 'chokidar';
import type { Logger } from '../../log/logger.ts';

export interface WatchTarget {
  /** the directory chokidar watches */
  root: string;
  /** 0: root's entries only; 1: also the entries of its subdirectories */
  depth: number;
  /** whether a change at this absolute path can change the secret */
  isRelevant(absPath: string): boolean;
}

export interface SecretWatchOptions {
  target: WatchTarget;
  /** the secret's state now: its version, or "error:<code>" */
  readState(): Promise<string>;
  onChange(): void;
  logger: Logger;
  debounceMs: number;
  /** for log lines */
  label: string;
}

export interface SecretWatch {
  /** resolves once the watcher is listening */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchSecret(opts: SecretWatchOptions): SecretWatch {
  const { target } = opts;
  let last = opts.readState();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const check = async () => {
    const before = await last;
    const current = opts.readState();
    last = current;
    const now = await current;
    if (!closed && now !== before) {
      opts.logger.debug({ secret: opts.label }, 'file secret changed on disk');
      opts.onChange();
    }
  };

  // chokidar is loaded on first use: `init` and `exec` never watch
  const started = import('chokidar').then(({ watch }) => {
    const watcher: FSWatcher = watch(target.root, {
      ignoreInitial: true,
      // a symlink swap is an event on the link itself; following links would
      // make chokidar watch kubelet's timestamped dirs, which never change in place
      followSymlinks: false,
      depth: target.depth,
      ignored: (p: string) => p !== target.root && !target.isRelevant(p),
    });
    watcher.on('all', (_event: string, p: string) => {
      if (closed || !target.isRelevant(p)) return;
      clearTimeout(timer);
      timer = setTimeout(() => void check(), opts.debounceMs);
    });
    watcher.on('error', (e: unknown) => {
      const code = (e as { code?: unknown } | null)?.code;
      opts.logger.warn({ secret: opts.label, code: typeof code === 'string' ? code : undefined }, 'file watch error; changes are still picked up by the refresh interval');
    });
    return new Promise<FSWatcher | undefined>((resolve) => watcher.once('ready', () => resolve(watcher)));
  }).catch((e: unknown) => {
    opts.logger.error({ secret: opts.label, err: e instanceof Error ? e.name : typeof e }, 'cannot start the file watcher; changes are still picked up by the refresh interval');
    return undefined;
  });

  return {
    ready: Promise.all([started, last]).then(() => undefined),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await (await started)?.close();
    },
  };
}
