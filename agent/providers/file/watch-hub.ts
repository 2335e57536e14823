// One chokidar watcher per watched directory, shared by every secret of a
// file provider that lives there. A mounted Kubernetes Secret holds all of a
// pod's secrets in one directory: a watcher per secret would scan that
// directory once per secret (n secrets, n x n stats at start-up) and keep n
// copies of chokidar's state for the same fs.watch handle. Here each event is
// handed to the subscriptions it is relevant to; what a change means for a
// secret (debounce, re-read, compare) stays in watch-secret.ts.
//
// chokidar decides at scan time which entries to descend into, so a
// subscription that arrives after a directory's watcher has started makes
// that watcher start over with every subscription it has now (rare: secrets
// are subscribed together when the sidecar starts).

import type { FSWatcher } from 'chokidar';
import type { WatchTarget } from './watch-secret.ts';

export interface HubSubscription {
  target: WatchTarget;
  /** a relevant path changed */
  onEvent(absPath: string): void;
  /** chokidar reported an error (its code, if any) */
  onError(code: string | undefined): void;
}

export interface HubHandle {
  /** resolves once the directory's watcher listens with this subscription in it */
  ready: Promise<void>;
  close(): Promise<void>;
}

interface DirWatch {
  subs: Set<HubSubscription>;
  /** the running watcher (undefined when it could not start) */
  current?: Promise<FSWatcher | undefined>;
  /** a (re)start waiting for this tick's other subscriptions */
  pending?: Promise<void>;
}

export class WatchHub {
  readonly #dirs = new Map<string, DirWatch>();
  readonly #onStartFailure: (e: unknown) => void;

  constructor(onStartFailure: (e: unknown) => void) {
    this.#onStartFailure = onStartFailure;
  }

  subscribe(sub: HubSubscription): HubHandle {
    const root = sub.target.root;
    let dir = this.#dirs.get(root);
    if (!dir) {
      dir = { subs: new Set() };
      this.#dirs.set(root, dir);
    }
    dir.subs.add(sub);
    const d = dir;
    return {
      ready: this.#restartSoon(root, d),
      close: async () => {
        d.subs.delete(sub);
        if (d.subs.size > 0 || this.#dirs.get(root) !== d) return;
        this.#dirs.delete(root);
        await d.pending;
        await (await d.current)?.close();
      },
    };
  }

  /** directories watched now (for tests and metrics) */
  get directories(): number {
    return this.#dirs.size;
  }

  async close(): Promise<void> {
    const all = [...this.#dirs.values()];
    this.#dirs.clear();
    await Promise.all(all.map(async (d) => {
      await d.pending;
      await (await d.current)?.close();
    }));
  }

  /** one (re)start per tick, however many subscriptions arrive in it */
  #restartSoon(root: string, dir: DirWatch): Promise<void> {
    dir.pending ??= Promise.resolve().then(async () => {
      dir.pending = undefined;
      const previous = dir.current;
      if (dir.subs.size === 0 || this.#dirs.get(root) !== dir) return;
      dir.current = this.#start(root, dir);
      await (await previous)?.close();
      await dir.current;
    });
    return dir.pending;
  }

  async #start(root: string, dir: DirWatch): Promise<FSWatcher | undefined> {
    const subs = [...dir.subs];
    try {
      // chokidar is loaded on first use: `init` and `exec` never watch
      const { watch } = await import('chokidar');
      const relevantTo = (p: string) => subs.filter((s) => s.target.isRelevant(p));
      const watcher: FSWatcher = watch(root, {
        ignoreInitial: true,
        // a symlink swap is an event on the link itself; following links would
        // make chokidar watch kubelet's timestamped dirs, which never change in place
        followSymlinks: false,
        depth: Math.max(...subs.map((s) => s.target.depth)),
        ignored: (p: string) => p !== root && relevantTo(p).length === 0,
      });
      watcher.on('all', (_event: string, p: string) => {
        for (const s of relevantTo(p)) if (dir.subs.has(s)) s.onEvent(p);
      });
      watcher.on('error', (e: unknown) => {
        const code = (e as { code?: unknown } | null)?.code;
        for (const s of subs) if (dir.subs.has(s)) s.onError(typeof code === 'string' ? code : undefined);
      });
      await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
      return watcher;
    } catch (e) {
      this.#onStartFailure(e);
      return undefined;
    }
  }
}
