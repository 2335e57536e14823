// The file operations of one write, two ways, for one algorithm
// (atomic-write.ts) that awaits each of them.
//
// On a memory filesystem (tmpfs, ramfs: where outputs belong, a pod's
// emptyDir { medium: Memory } or compose's tmpfs) every operation is a
// memory operation that cannot wait on a device, fsync included (a no-op
// there). `inMemory` runs them synchronously: awaiting a plain value only
// queues a microtask, so the whole write takes one turn of the event loop.
// Through the thread pool it takes about fifteen, and on a loop busy with a
// hundred checks a second each turn is a wait: a median 15 ms per write,
// against well under 1 ms this way.
//
// Anywhere else (a disk, a network filesystem) `threadPool` sends each
// operation to libuv's threads as before, so a slow device stalls a thread,
// not the agent's checks and probes.

import fs, { type Stats } from 'node:fs';
import { promisify } from 'node:util';
import path from 'node:path';

export type Step<T> = T | Promise<T>;

/** file operations on descriptors; each either returns or resolves */
export interface WriteSteps {
  readonly name: 'in-memory' | 'thread-pool';
  realpath(p: string): Step<string>;
  mkdirp(dir: string, mode: number): Step<void>;
  open(p: string, flags: number, mode?: number): Step<number>;
  fstat(fd: number): Step<Stats>;
  /** up to `max` bytes from the start of the file */
  readUpTo(fd: number, max: number): Step<Buffer>;
  writeAll(fd: number, bytes: Buffer): Step<void>;
  fchmod(fd: number, mode: number): Step<void>;
  fchown(fd: number, uid: number, gid: number): Step<void>;
  fsync(fd: number): Step<void>;
  close(fd: number): Step<void>;
  readlink(p: string): Step<string>;
  rename(from: string, to: string): Step<void>;
  unlink(p: string): Step<void>;
}

/** the bytes one write(2) took: none for a non-empty write (a broken FUSE
 * server can answer that) would repeat it forever, on the in-memory path
 * with the whole event loop stopped */
function wrote(n: number): number {
  if (n > 0) return n;
  throw Object.assign(new Error('write(2) took no bytes'), { code: 'EIO' });
}

export const inMemory: WriteSteps = {
  name: 'in-memory',
  realpath: (p) => fs.realpathSync.native(p),
  mkdirp: (dir, mode) => void fs.mkdirSync(dir, { recursive: true, mode }),
  open: (p, flags, mode) => fs.openSync(p, flags, mode),
  fstat: (fd) => fs.fstatSync(fd),
  readUpTo(fd, max) {
    const buf = Buffer.allocUnsafe(max);
    let n = 0;
    for (let got = -1; got !== 0 && n < max; n += got) got = fs.readSync(fd, buf, n, max - n, n);
    return buf.subarray(0, n);
  },
  writeAll(fd, bytes) {
    for (let n = 0; n < bytes.length; ) n += wrote(fs.writeSync(fd, bytes, n, bytes.length - n, n));
  },
  fchmod: (fd, mode) => fs.fchmodSync(fd, mode),
  fchown: (fd, uid, gid) => fs.fchownSync(fd, uid, gid),
  fsync: (fd) => fs.fsyncSync(fd),
  close: (fd) => fs.closeSync(fd),
  readlink: (p) => fs.readlinkSync(p),
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (p) => fs.unlinkSync(p),
};

const p = {
  realpath: promisify(fs.realpath.native),
  mkdir: promisify(fs.mkdir),
  open: promisify(fs.open),
  fstat: promisify(fs.fstat),
  read: promisify(fs.read),
  write: promisify(fs.write),
  fchmod: promisify(fs.fchmod),
  fchown: promisify(fs.fchown),
  fsync: promisify(fs.fsync),
  close: promisify(fs.close),
  readlink: promisify(fs.readlink),
  rename: promisify(fs.rename),
  unlink: promisify(fs.unlink),
};

export const threadPool: WriteSteps = {
  name: 'thread-pool',
  realpath: (f) => p.realpath(f),
  mkdirp: async (dir, mode) => void (await p.mkdir(dir, { recursive: true, mode })),
  open: (f, flags, mode) => p.open(f, flags, mode),
  fstat: (fd) => p.fstat(fd),
  async readUpTo(fd, max) {
    const buf = Buffer.allocUnsafe(max);
    let n = 0;
    for (let got = -1; got !== 0 && n < max; n += got) got = (await p.read(fd, buf, n, max - n, n)).bytesRead;
    return buf.subarray(0, n);
  },
  async writeAll(fd, bytes) {
    for (let n = 0; n < bytes.length; ) n += wrote((await p.write(fd, bytes, n, bytes.length - n, n)).bytesWritten);
  },
  fchmod: (fd, mode) => p.fchmod(fd, mode),
  fchown: (fd, uid, gid) => p.fchown(fd, uid, gid),
  fsync: (fd) => p.fsync(fd),
  close: (fd) => p.close(fd),
  readlink: (f) => p.readlink(f),
  rename: (from, to) => p.rename(from, to),
  unlink: (f) => p.unlink(f),
};

// statfs(2) f_type values (linux/magic.h)
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

const statfs = promisify(fs.statfs);
/** per directory: destinations are few and their filesystems do not change
 * under a running agent; the bound keeps a config with very many apart */
const known = new Map<string, WriteSteps>();
const KNOWN_MAX = 256;
/** the devices statfs found to be memory filesystems: a path leads to one
 * until somebody swaps a directory for a symlink (or mounts over it), so a
 * write confirms its opened directory is on one of these (confirmedFor) */
const memoryDevices = new Set<number>();

/** the steps for writes into `dir`: in memory when the nearest existing
 * directory of it (a new one is created on its parent's filesystem) is on
 * tmpfs or ramfs, through the thread pool otherwise or when that cannot be
 * told. Asked once per directory, through the thread pool itself: statfs on
 * a network filesystem asks its server. */
export async function stepsFor(dir: string): Promise<WriteSteps> {
  const cached = known.get(dir);
  if (cached) return cached;
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const dev = await memoryDevice(d);
      const steps = dev === undefined ? threadPool : inMemory;
      if (dev !== undefined) {
        if (memoryDevices.size >= KNOWN_MAX) memoryDevices.clear();
        memoryDevices.add(dev);
      }
      // a directory not there yet is asked again once it is
      if (d === dir) {
        if (known.size >= KNOWN_MAX) known.clear();
        known.set(dir, steps);
      }
      return steps;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(d) === d) return threadPool;
    }
  }
}

/** the device of directory `d` when it is on tmpfs or ramfs, undefined when
 * it is not. Type and device come from one descriptor: asked by path, a swap
 * of the directory between the two questions could pair a disk's device
 * with a memory filesystem's type, and confirmedFor would then take that
 * disk for memory. */
async function memoryDevice(d: string): Promise<number | undefined> {
  const fd = await p.open(d, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    const [{ type }, { dev }] = await Promise.all([statfs(`/proc/self/fd/${fd}`), p.fstat(fd)]);
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC ? dev : undefined;
  } finally {
    await p.close(fd).catch(() => {});
  }
}

/** The steps for the rest of a write whose directory `dir` is open, its
 * device `dev` (from fstat of the descriptor, which a later swap cannot
 * change): `chosen` (stepsFor's answer, which looked at the path earlier),
 * unless that is in memory and the opened directory is not on a device
 * stepsFor found to be memory. Then the path leads elsewhere now (another
 * container swapped the directory for a symlink to a disk or a network
 * volume): the data steps, fsync above all, go through the thread pool, and
 * `dir` is asked again next time. Until here the write took only path
 * steps (realpath, mkdir, open), cheap on a local disk. */
export function confirmedFor(chosen: WriteSteps, dir: string, dev: number): WriteSteps {
  if (chosen !== inMemory || memoryDevices.has(dev)) return chosen;
  known.delete(dir);
  return threadPool;
}
