// A file secret's age: the newest mtime of what it was read from (its file,
// or every key file of a mounted-Secret directory, symlinks followed, so
// kubelet's ..data swap counts as the update it is).

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/** the newest mtime (epoch ms) of `file`, or of the regular files directly in `dir` not starting with "." */
export async function newestMtime(place: { abs: string }, isDir: boolean): Promise<number | undefined> {
  if (!isDir) return (await stat(place.abs)).mtimeMs;
  let newest: number | undefined;
  for (const name of await readdir(place.abs)) {
    if (name.startsWith('.')) continue;
    try {
      const s = await stat(path.join(place.abs, name));
      if (s.isFile()) newest = Math.max(newest ?? 0, s.mtimeMs);
    } catch {
      // removed since readdir: an update in flight
    }
  }
  return newest;
}
