// The only code that touches output files. A destination is always either its
// old or its new content: the bytes go to a temp file in the same directory,
// are fsynced, and replace the destination by rename (atomic on POSIX within
// one filesystem). Unchanged bytes are not written at all, so watchers in the
// app see no event when nothing changed.

import { constants } from 'node:fs';
import { chmod, chown, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import { leadsOutside } from './inside-root.ts';

export interface WriteOptions {
  mode: number;
  /** when given, a destination whose directory leads (through a symlink) out of it is refused */
  root?: string;
  uid?: number;
  gid?: number;
}

export type WriteOutcome = 'written' | 'unchanged' | 'mode-changed';

const TEMP_PREFIX = '.erlmcp-secrets-';

export async function writeAtomic(destination: string, bytes: Buffer, opts: WriteOptions): Promise<WriteOutcome> {
  const dir = path.dirname(destination);
  try {
    if (opts.root !== undefined) {
      // before mkdir, which would otherwise create directories out there
      const real = await leadsOutside(opts.root, dir);
      if (real !== undefined) {
        throw new AgentError('config', `${destination} was not written: its directory leads through a symlink to ${real}, outside the output root ${opts.root}; remove the link`, { where: destination });
      }
    }
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const current = await readCurrent(destination);
    if (current && current.bytes.equals(bytes)) {
      if ((current.mode & 0o777) === opts.mode && ownerMatches(current, opts)) return 'unchanged';
      await chmod(destination, opts.mode);
      if (opts.uid !== undefined || opts.gid !== undefined) await chown(destination, opts.uid ?? current.uid, opts.gid ?? current.gid);
      return 'mode-changed';
    }
    await replace(destination, bytes, opts);
    return 'written';
  } catch (e) {
    if (e instanceof AgentError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new AgentError('internal', `cannot write ${destination}: ${err.code ?? err.message}; check that the output volume is mounted and writable by this user`, {
      where: destination,
      cause: e,
    });
  }
}

async function replace(destination: string, bytes: Buffer, opts: WriteOptions): Promise<void> {
  const dir = path.dirname(destination);
  const { temp, fh } = await createTemp(dir, path.basename(destination), opts.mode);
  try {
    await fh.writeFile(bytes);
    await fh.chmod(opts.mode); // the umask may have narrowed the mode given to open
    if (opts.uid !== undefined || opts.gid !== undefined) await fh.chown(opts.uid ?? -1, opts.gid ?? -1);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await unlink(temp).catch(() => {});
    throw e;
  }
  await fh.close();
  try {
    await rename(temp, destination);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw e;
  }
  await syncDir(dir);
}

let tempSeq = 0;

/** A new temp file beside the destination. O_EXCL: never follow or reuse a
 * file somebody else placed there; a name that is taken (a leftover of a
 * killed process with the same pid) just moves on to the next. The names
 * need no randomness for that, and leaving node:crypto out keeps it off the
 * start-up of every command that writes. */
async function createTemp(dir: string, base: string, mode: number): Promise<{ temp: string; fh: Awaited<ReturnType<typeof open>> }> {
  for (let attempt = 0; ; attempt++) {
    const temp = path.join(dir, `${TEMP_PREFIX}${base}.${process.pid}.${(tempSeq++).toString(36)}`);
    try {
      return { temp, fh: await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw e;
    }
  }
}

async function readCurrent(file: string): Promise<{ bytes: Buffer; mode: number; uid: number; gid: number } | undefined> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new AgentError('config', `${file} exists and is not a regular file; remove it or choose another destination`, { where: file });
    return { bytes: await readFile(file), mode: st.mode, uid: st.uid, gid: st.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function ownerMatches(st: { uid: number; gid: number }, opts: WriteOptions): boolean {
  return (opts.uid === undefined || opts.uid === st.uid) && (opts.gid === undefined || opts.gid === st.gid);
}

async function syncDir(dir: string): Promise<void> {
  // Makes the rename durable; some filesystems refuse fsync on a directory, which is fine.
  try {
    const fh = await open(dir, constants.O_RDONLY);
    await fh.sync().catch(() => {});
    await fh.close();
  } catch {
    /* best effort */
  }
}

/** Removes temp files that a killed process left behind in the given directories. */
export async function removeStaleTemps(dirs: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!n.startsWith(TEMP_PREFIX)) continue;
      await unlink(path.join(dir, n)).then(
        () => removed++,
        () => {},
      );
    }
  }
  return removed;
}
