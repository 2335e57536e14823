// Keeps the rendered files as the agent last wrote them. A render pass only
// happens when a secret or template changes, so without this a file deleted or
// edited by someone else (or one whose write failed on a full or read-only
// volume) would stay wrong until the next rotation. The guard remembers, per
// destination, the bytes of the last good render and the stat of the file the
// agent left behind; check() compares a fresh stat (cheap: no read) and
// rewrites from memory whatever differs.
//
//   guard.expect(dest, bytes, opts, stamp?)   a render the agent wants on disk
//   guard.delivered(dest, stamp)              it is on disk now (after a write)
//   guard.undelivered(dest)                   its write failed: check() retries
//   await guard.check() -> Repair[]           what it found and did
//
// It writes through the same atomic writer as everything else; callers make
// sure check() and their own writes do not overlap.

import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { asAgentError, type AgentError } from '../errors.ts';
import type { WriteOptions, WriteOutcome } from './atomic-write.ts';

/** what identifies the file the agent left behind, short of reading it */
export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  uid: number;
  gid: number;
}

/** missing: gone; changed: another inode, size, time, mode or owner; unwritten: the agent's last write failed */
export type DriftReason = 'missing' | 'changed' | 'unwritten';

export type Repair =
  | { destination: string; reason: DriftReason; ok: true; outcome: WriteOutcome; bytes: Buffer }
  | { destination: string; reason: DriftReason; ok: false; err: AgentError };

type Write = (destination: string, bytes: Buffer, opts: WriteOptions) => Promise<WriteOutcome>;

interface Expected {
  bytes: Buffer;
  opts: WriteOptions;
  /** undefined: not known to be on disk */
  stamp: FileStamp | undefined;
  /** the last write of these bytes failed: the app has never seen them */
  undelivered: boolean;
}

export class OutputGuard {
  readonly #write: Write;
  readonly #files = new Map<string, Expected>();

  constructor(write: Write) {
    this.#write = write;
  }

  /** the bytes the agent wants at destination; without a stamp, the next check decides */
  expect(destination: string, bytes: Buffer, opts: WriteOptions, stamp?: FileStamp): void {
    this.#files.set(destination, { bytes, opts, stamp, undelivered: false });
  }

  /** the expected bytes are on disk (a write succeeded or found them equal) */
  async delivered(destination: string): Promise<void> {
    const e = this.#files.get(destination);
    if (!e) return;
    e.stamp = await stampOf(destination);
    e.undelivered = false;
  }

  /** writing the expected bytes failed; the next check tries again */
  undelivered(destination: string): void {
    const e = this.#files.get(destination);
    if (!e) return;
    e.stamp = undefined;
    e.undelivered = true;
  }

  /** destinations whose expected bytes are not on disk as far as the guard knows */
  failing(): string[] {
    return [...this.#files].filter(([, e]) => e.undelivered).map(([d]) => d);
  }

  /** stat every file; rewrite those that differ from what the agent left behind */
  async check(): Promise<Repair[]> {
    const repairs: Repair[] = [];
    for (const [destination, e] of this.#files) {
      const now = await stampOf(destination);
      const reason: DriftReason | undefined = e.undelivered ? 'unwritten' : now === undefined ? 'missing' : e.stamp === undefined || !sameStamp(now, e.stamp) ? 'changed' : undefined;
      if (reason === undefined) continue;
      try {
        const outcome = await this.#write(destination, e.bytes, e.opts);
        // a newer expect() may have replaced the entry while the write ran
        if (this.#files.get(destination) === e) {
          e.stamp = await stampOf(destination);
          e.undelivered = false;
        }
        repairs.push({ destination, reason, ok: true, outcome, bytes: e.bytes });
      } catch (err) {
        if (this.#files.get(destination) === e) {
          e.stamp = undefined;
          e.undelivered = true;
        }
        repairs.push({ destination, reason, ok: false, err: asAgentError(err, `restoring ${destination}`) });
      }
    }
    return repairs;
  }
}

function toStamp(st: { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number; mode: number; uid: number; gid: number; isFile(): boolean }): FileStamp | undefined {
  if (!st.isFile()) return undefined;
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, mode: st.mode, uid: st.uid, gid: st.gid };
}

/** undefined when the file is missing or not a regular file */
export async function stampOf(file: string): Promise<FileStamp | undefined> {
  try {
    return toStamp(await stat(file));
  } catch {
    return undefined;
  }
}

export function stampOfSync(file: string): FileStamp | undefined {
  try {
    return toStamp(statSync(file));
  } catch {
    return undefined;
  }
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}
