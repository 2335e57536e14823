// Where a path really leads: the config checks destinations as written, but a
// directory under the output root can be (or later become) a symlink, left by
// an earlier container or planted on a shared volume, that takes a secret's
// file elsewhere. The config check (config/destinations-on-disk.ts) looks
// before anything is fetched; the writer looks again before every write,
// since a running sidecar writes long after that check.

import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** how a path is resolved: fs/promises' realpath, or the writer's steps (write-steps.ts) */
type Realpath = (p: string) => string | Promise<string>;

/** the real path of `p`'s longest existing prefix, with the rest appended as written */
export async function realpathOfExisting(p: string, resolve: Realpath = realpath): Promise<string> {
  let existing = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await resolve(existing), ...rest.reverse());
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return p;
      rest.push(path.basename(existing));
      existing = parent;
    }
  }
}

/** where `dir` really leads, when that is outside `root` (itself resolved:
 * a symlinked root is fine); undefined when it stays inside */
export async function leadsOutside(root: string, dir: string, resolve: Realpath = realpath): Promise<string | undefined> {
  const [realRoot, realDir] = await Promise.all([realpathOfExisting(root, resolve), realpathOfExisting(dir, resolve)]);
  const rel = path.relative(realRoot, realDir);
  return rel.startsWith('..') || path.isAbsolute(rel) ? realDir : undefined;
}
