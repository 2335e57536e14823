// Push notification for one file-backed secret. The provider's WatchHub
// watches the directory that holds the secret (not the secret itself: editors
// and kubelet replace files by rename, and a watch on the old inode would go
// deaf) and hands over the paths that can change this secret. Bursts of events
// (kubelet writes a new timestamped dir, swaps ..data, deletes the old dir)
// are debounced, and onChange fires only when the secret's content version,
// or the error it now fails with, differs from what it was.

import type { Logger } from '../../log/logger.ts';
import type { WatchHub } from './watch-hub.ts';

export interface WatchTarget {
  /** the directory chokidar watches */
  root: string;
  /** 0: root's entries only; 1: also the entries of its subdirectories */
  depth: number;
  /** whether a change at this absolute path can change the secret */
  isRelevant(absPath: string): boolean;
}

export interface SecretWatchOptions {
  hub: WatchHub;
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

  const subscription = opts.hub.subscribe({
    target,
    onEvent: () => {
      if (closed) return;
      clearTimeout(timer);
      timer = setTimeout(() => void check(), opts.debounceMs);
    },
    onError: (code) => {
      opts.logger.warn({ secret: opts.label, code }, 'file watch error; changes are still picked up by the refresh interval');
    },
  });

  return {
    ready: Promise.all([subscription.ready, last]).then(() => undefined),
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await subscription.close();
    },
  };
}
