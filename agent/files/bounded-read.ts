// Reads a file that someone else may have put there (a config, a template
// source, a cookie, a credential, a certificate, a file-provider secret)
// without letting the file decide how long or how much:
//
// - opened with O_NONBLOCK: opening a FIFO for reading otherwise waits,
//   silently and forever, for a writer;
// - the opened descriptor is checked with fstat (not stat-then-open, which a
//   swap between the two would defeat): anything but a regular file (FIFO,
//   device such as /dev/zero, socket, directory) is refused, symlinks to
//   them included;
// - at most `limit` bytes are read: one more byte than that, and the read
//   stops with a refusal, whatever fstat said about the size (procfs and
//   friends report 0).
//
// Failures are values (ReadRefusal) with a phrase the caller puts after the
// file's name and a hint of what to do; callers turn them into their own
// error codes.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

export type RefusalKind = 'errno' | 'not-regular' | 'too-large';

export class ReadRefusal extends Error {
  readonly kind: RefusalKind;
  /** ENOENT, EACCES, ... for kind 'errno' */
  readonly errno: string | undefined;
  /** 'a FIFO (named pipe)', 'a directory', ... for kind 'not-regular' */
  readonly what: string | undefined;
  readonly file: string;

  /** `why` follows the file's name: "<file> <why>" */
  constructor(kind: RefusalKind, file: string, why: string, detail: { errno?: string; what?: string } = {}) {
    super(why);
    this.name = 'ReadRefusal';
    this.kind = kind;
    this.file = file;
    this.errno = detail.errno;
    this.what = detail.what;
  }
}

export function isReadRefusal(e: unknown): e is ReadRefusal {
  return e instanceof ReadRefusal;
}

/** what a non-regular file is, for the operator: 'a FIFO (named pipe)', ... */
export function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function notRegular(file: string, st: Stats): ReadRefusal {
  const what = kindOf(st);
  return new ReadRefusal('not-regular', file, `is ${what}, not a regular file; point it at a regular file`, { what });
}

function tooLarge(file: string, limit: number): ReadRefusal {
  return new ReadRefusal('too-large', file, `is larger than ${formatBytes(limit)}, the most this agent reads from such a file; is this the right file?`);
}

const ERRNO_WHY: Record<string, string> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'does not exist (a part of its path is not a directory)',
  EACCES: 'cannot be read: permission denied',
  EPERM: 'cannot be read: permission denied',
  ELOOP: 'cannot be read: its symbolic links form a loop',
  EISDIR: 'is a directory, not a regular file; point it at a regular file',
};

function fromErrno(file: string, e: unknown): ReadRefusal {
  if (e instanceof ReadRefusal) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' ? code : 'error';
  return new ReadRefusal('errno', file, ERRNO_WHY[errno] ?? `cannot be read (${errno})`, { errno });
}

/** for messages of the form "cannot read <file> <detail>": the errno in
 * parentheses (as such messages always had), or the reason refused */
export function refusalDetail(r: ReadRefusal): string {
  return r.kind === 'errno' ? ` (${r.errno})` : `: it ${r.message}`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / 1024 / 1024} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

/** Collects what read() gives, in chunks sized from fstat's size (one read
 * for a regular file that did not change), and stops one byte past `limit`. */
class Collector {
  readonly #chunks: Buffer[] = [];
  #total = 0;

  readonly #file: string;
  readonly #limit: number;
  readonly #sizeHint: number;

  constructor(file: string, limit: number, sizeHint: number) {
    this.#file = file;
    this.#limit = limit;
    this.#sizeHint = sizeHint;
  }

  /** a buffer for the next read */
  next(): Buffer {
    const want = this.#total === 0 ? this.#sizeHint + 1 : 64 * 1024;
    return Buffer.alloc(Math.max(1, Math.min(want, this.#limit + 1 - this.#total)));
  }

  /** false at the end of the file */
  took(buf: Buffer, n: number): boolean {
    if (n === 0) return false;
    this.#chunks.push(buf.subarray(0, n));
    this.#total += n;
    if (this.#total > this.#limit) throw tooLarge(this.#file, this.#limit);
    return true;
  }

  bytes(): Buffer {
    return this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
  }
}

function checked(file: string, st: Stats, limit: number): Collector {
  if (!st.isFile()) throw notRegular(file, st);
  if (st.size > limit) throw tooLarge(file, limit);
  return new Collector(file, limit, st.size);
}

/** the file's bytes, at most `limit` of them; throws ReadRefusal (or the
 * signal's reason when it is aborted) */
export async function readBounded(file: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
  return withOpened(file, signal, async (handle) => {
    const c = checked(file, await handle.stat(), limit);
    for (;;) {
      signal?.throwIfAborted();
      const buf = c.next();
      if (!c.took(buf, (await handle.read(buf, 0, buf.length, null)).bytesRead)) return c.bytes();
    }
  });
}

/** opens with the checks' flags, runs `use`, closes; failures become
 * ReadRefusal (the signal's own reason passes through) */
async function withOpened<T>(file: string, signal: AbortSignal | undefined, use: (handle: FileHandle) => Promise<T>): Promise<T> {
  let handle;
  try {
    handle = await open(file, FLAGS);
  } catch (e) {
    throw fromErrno(file, e);
  }
  try {
    return await use(handle);
  } catch (e) {
    if (signal?.aborted && e === signal.reason) throw e;
    throw fromErrno(file, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

/** the first `max` bytes of a file whose length is not ours to decide and
 * whose head is all we need (/proc/PID/cmdline: another process in a shared
 * PID namespace sets its own argv area, which can be far larger than any
 * argv). Same open and fstat checks as readBounded, but a longer file is cut,
 * not refused. */
export async function readHead(file: string, max: number): Promise<Buffer> {
  return withOpened(file, undefined, async (handle) => {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(file, st);
    const buf = Buffer.alloc(max);
    let total = 0;
    while (total < max) {
      const n = (await handle.read(buf, total, max - total, null)).bytesRead;
      if (n === 0) break;
      total += n;
    }
    return buf.subarray(0, total);
  });
}

/** readBounded for the few callers that must stay synchronous */
export function readBoundedSync(file: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, FLAGS);
  } catch (e) {
    throw fromErrno(file, e);
  }
  try {
    const c = checked(file, fstatSync(fd), limit);
    for (;;) {
      const buf = c.next();
      if (!c.took(buf, readSync(fd, buf, 0, buf.length, null))) return c.bytes();
    }
  } catch (e) {
    throw fromErrno(file, e);
  } finally {
    closeSync(fd);
  }
}
