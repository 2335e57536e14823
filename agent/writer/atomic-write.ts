// The only code that touches output files. A destination is always either its
// old or its new content: the bytes go to a temp file in the same directory,
// are fsynced, and replace the destination by rename (atomic on POSIX within
// one filesystem). Unchanged bytes are not written at all, so watchers in the
// app see no event when nothing changed.

import { constants } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import { leadsOutside, realpathOfExisting } from './inside-root.ts';
import { confirmedFor, stepsFor, type WriteSteps } from './write-steps.ts';

export interface WriteOptions {
  mode: number;
  /** when given, a destination whose directory leads (through a symlink) out of it is refused */
  root?: string;
  uid?: number;
  gid?: number;
}

export type WriteOutcome = 'written' | 'unchanged' | 'mode-changed';

const TEMP_PREFIX = '.erlmcp-secrets-';

// Race-free placement. A path check before the write cannot keep a secret
// inside the root: a directory under it can be swapped for a symlink between
// the check and the write. So the destination's directory is opened once,
// its real location is read from the opened descriptor and checked, and
// everything after (the current file, the temp file, the rename) is
// addressed through /proc/self/fd/<that descriptor>/<name>: the kernel
// resolves that link to the opened directory itself, not to its path, so a
// later swap cannot redirect it. After the rename the directory's location
// is checked again: a directory moved out of the root meanwhile does not
// keep the new file.

export async function writeAtomic(destination: string, bytes: Buffer, opts: WriteOptions, steps?: WriteSteps): Promise<WriteOutcome> {
  const dir = path.dirname(destination);
  const base = path.basename(destination);
  let s = steps ?? (await stepsFor(dir));
  let dirFd: number | undefined;
  try {
    if (opts.root !== undefined) {
      // before mkdir, which would otherwise create directories out there
      refuseOutside(destination, opts.root, await leadsOutside(opts.root, dir, s.realpath));
    }
    await s.mkdirp(dir, 0o755);
    dirFd = await s.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    // steps given by the caller are used as given; chosen ones are checked against the directory opened
    if (steps === undefined) s = confirmedFor(s, dir, (await s.fstat(dirFd)).dev);
    const at = (name: string) => `/proc/self/fd/${dirFd}/${name}`;
    const realRoot = opts.root !== undefined ? await realpathOfExisting(opts.root, s.realpath) : undefined;
    const checkInside = async (): Promise<void> => {
      if (realRoot === undefined) return;
      const real = await s.readlink(`/proc/self/fd/${dirFd}`);
      refuseOutside(destination, opts.root!, isInside(realRoot, real) ? undefined : real);
    };
    await checkInside();
    const current = await readCurrent(s, at(base), destination, bytes.length);
    if (current?.bytes && current.bytes.equals(bytes)) {
      try {
        if ((current.mode & 0o777) === opts.mode && ownerMatches(current, opts)) return 'unchanged';
        await s.fchmod(current.fd, opts.mode);
        if (opts.uid !== undefined || opts.gid !== undefined) await s.fchown(current.fd, opts.uid ?? current.uid, opts.gid ?? current.gid);
        return 'mode-changed';
      } finally {
        await s.close(current.fd);
      }
    }
    if (current) await s.close(current.fd);
    await replace(s, at, base, bytes, opts);
    try {
      await checkInside();
    } catch (e) {
      // moved out of the root while we wrote: the secret does not stay there
      await ignoreFailure(() => s.unlink(at(base)));
      throw e;
    }
    await ignoreFailure(() => s.fsync(dirFd!)); // makes the rename durable; some filesystems refuse fsync on a directory
    return 'written';
  } catch (e) {
    if (e instanceof AgentError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new AgentError('internal', `cannot write ${destination}: ${err.code ?? err.message}; check that the output volume is mounted and writable by this user`, {
      where: destination,
      cause: e,
    });
  } finally {
    if (dirFd !== undefined) await ignoreFailure(() => s.close(dirFd!));
  }
}

/** a step whose failure changes nothing for the caller (a cleanup, a best-effort fsync) */
async function ignoreFailure(step: () => unknown): Promise<void> {
  try {
    await step();
  } catch {
    // nothing to do: see the caller
  }
}

function refuseOutside(destination: string, root: string, real: string | undefined): void {
  if (real === undefined) return;
  throw new AgentError('config', `${destination} was not written: its directory leads through a symlink to ${real}, outside the output root ${root}; remove the link`, { where: destination });
}

function isInside(realRoot: string, real: string): boolean {
  const rel = path.relative(realRoot, real);
  return !(rel.startsWith('..') || path.isAbsolute(rel));
}

/** `at(name)`: the name inside the opened destination directory */
async function replace(s: WriteSteps, at: (name: string) => string, base: string, bytes: Buffer, opts: WriteOptions): Promise<void> {
  const { temp, fd } = await createTemp(s, at, base, opts.mode);
  let open = true;
  try {
    await s.writeAll(fd, bytes);
    await s.fchmod(fd, opts.mode); // the umask may have narrowed the mode given to open
    if (opts.uid !== undefined || opts.gid !== undefined) await s.fchown(fd, opts.uid ?? -1, opts.gid ?? -1);
    await s.fsync(fd);
    open = false;
    await s.close(fd);
    await s.rename(at(temp), at(base));
  } catch (e) {
    if (open) await ignoreFailure(() => s.close(fd));
    await ignoreFailure(() => s.unlink(at(temp)));
    throw e;
  }
}

let tempSeq = 0;

/** A new temp file beside the destination. O_EXCL|O_NOFOLLOW: never follow or
 * reuse a file somebody else placed there; a name that is taken (a leftover
 * of a killed process with the same pid) just moves on to the next. The
 * names need no randomness for that, and leaving node:crypto out keeps it
 * off the start-up of every command that writes. */
async function createTemp(s: WriteSteps, at: (name: string) => string, base: string, mode: number): Promise<{ temp: string; fd: number }> {
  for (let attempt = 0; ; attempt++) {
    const temp = `${TEMP_PREFIX}${base}.${process.pid}.${(tempSeq++).toString(36)}`;
    try {
      return { temp, fd: await s.open(at(temp), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw e;
    }
  }
}

/** The file there now, opened (O_NOFOLLOW: a symlink there is replaced, never
 * read or changed through; O_NONBLOCK: a FIFO planted there does not hang
 * the open); undefined when there is none. Its bytes only when its size
 * equals `expected`: a file of another size differs without being read, so
 * a destination someone replaced with something huge costs a stat, not its
 * size in memory. One byte more than expected is asked for, so a file that
 * grew after the stat reads as different. */
async function readCurrent(s: WriteSteps, file: string, destination: string, expected: number): Promise<{ fd: number; bytes: Buffer | undefined; mode: number; uid: number; gid: number } | undefined> {
  let fd: number;
  try {
    fd = await s.open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw e;
  }
  try {
    const st = await s.fstat(fd);
    if (!st.isFile()) throw new AgentError('config', `${destination} exists and is not a regular file; remove it or choose another destination`, { where: destination });
    const bytes = st.size === expected ? await s.readUpTo(fd, expected + 1) : undefined;
    return { fd, bytes, mode: st.mode, uid: st.uid, gid: st.gid };
  } catch (e) {
    await ignoreFailure(() => s.close(fd));
    throw e;
  }
}

function ownerMatches(st: { uid: number; gid: number }, opts: WriteOptions): boolean {
  return (opts.uid === undefined || opts.uid === st.uid) && (opts.gid === undefined || opts.gid === st.gid);
}

/** how far the start-up sweep looks under an output root: a volume of rendered
 * files is small; a root pointed at something huge must not stall start-up */
const SWEEP_MAX_ENTRIES = 10_000;
const SWEEP_MAX_DEPTH = 8;

/** Removes temp files that a killed process left behind in the given
 * directories and, when given, anywhere under the output roots (an earlier
 * config may have written elsewhere). Symlinks are not followed: a temp
 * name outside the roots is not ours to remove. */
export async function removeStaleTemps(dirs: Iterable<string>, roots: Iterable<string> = []): Promise<number> {
  const budget = { entries: SWEEP_MAX_ENTRIES };
  let removed = 0;
  const seen = new Set<string>();
  const sweep = async (dir: string, depth: number): Promise<void> => {
    if (seen.has(dir) || budget.entries <= 0) return;
    seen.add(dir);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (--budget.entries < 0) return;
      const p = path.join(dir, e.name);
      if (e.name.startsWith(TEMP_PREFIX) && e.isFile()) {
        await unlink(p).then(
          () => removed++,
          () => {},
        );
      } else if (e.isDirectory() && depth > 0) await sweep(p, depth - 1);
    }
  };
  for (const root of new Set(roots)) await sweep(root, SWEEP_MAX_DEPTH);
  for (const dir of new Set(dirs)) await sweep(dir, 0);
  return removed;
}
