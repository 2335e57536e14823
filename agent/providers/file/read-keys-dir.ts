// A directory whose files are the keys of one secret: what a mounted
// Kubernetes Secret looks like. kubelet's layout is
//   ..2026_11_29_06_00_00.123/password     the real files, one dir per update
//   ..data -> ..2026_11_29_06_00_00.123   swapped atomically on update
//   password -> ..data/password           one symlink per key
// so: follow symlinks, skip every entry starting with "." (kubelet's own
// "..*" entries and dotfiles like .gitkeep), skip subdirectories. A key
// symlink left dangling by an update means the key is gone. File content is
// the value, byte for byte; the provider strips one trailing line break
// unless the secret says `trim: false`.

import { readdir, stat } from 'node:fs/promises';
import { isAgentError } from '../../errors.ts';
import { fsError, isNotFound } from './fs-errors.ts';
import { childPlace, type FilePlace } from './file-place.ts';
import { readUtf8 } from './read-file.ts';

export async function readKeysDir(dir: FilePlace, provider: string, signal: AbortSignal): Promise<Record<string, string>> {
  let names: string[];
  try {
    names = (await readdir(dir.abs)).sort();
  } catch (e) {
    throw fsError(e, dir, provider);
  }
  const data: Record<string, string> = {};
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const place = childPlace(dir, name);
    let isFile: boolean;
    try {
      isFile = (await stat(place.abs)).isFile();
    } catch (e) {
      if (isNotFound(e)) continue;
      throw fsError(e, place, provider);
    }
    if (!isFile) continue;
    try {
      // defineProperty: a file named "__proto__" must stay a key, not replace the prototype
      Object.defineProperty(data, name, { value: await readUtf8(place, provider, signal), enumerable: true, writable: true, configurable: true });
    } catch (e) {
      // removed between readdir and read: an update is in flight; the watcher will fire again
      if (isAgentError(e) && e.code === 'missing') continue;
      throw e;
    }
  }
  return data;
}
