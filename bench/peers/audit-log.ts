// Counts the requests an agent made, where the server saw them: OpenBao's
// file audit device writes one JSON line per request and one per response.
// The bench reads what was appended since a mark, so each agent's window is
// counted alone (agents are measured one at a time).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { SecretRead } from '../check-gaps.ts';

export interface RequestCount {
  /** every request the server answered */
  requests: number;
  /** KV v2 data reads: the reads that return a secret's value */
  valueReads: number;
}

/** a line longer than this is not one we count (the bench's are ~1-2 KB) */
const MAX_LINE = 1 << 20;

/** counts the response lines of an audit log's text */
export function countResponses(text: string, kvMount: string): RequestCount {
  let requests = 0;
  let valueReads = 0;
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.length > MAX_LINE) continue;
    let entry: { type?: unknown; request?: { path?: unknown; operation?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a line still being written
    }
    if (entry.type !== 'response') continue;
    requests++;
    const path = entry.request?.path;
    if (entry.request?.operation === 'read' && typeof path === 'string' && path.startsWith(`${kvMount}/data/`)) valueReads++;
  }
  return { requests, valueReads };
}

/** reads of the KV v2 secrets under kvMount (value or metadata: either is a
 * check), keyed by the secret's data path, at the time the server logged the
 * request */
export function secretReads(text: string, kvMount: string): SecretRead[] {
  const reads: SecretRead[] = [];
  const kv = new RegExp(`^${kvMount}/(data|metadata)/(.+)$`);
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.length > MAX_LINE) continue;
    let entry: { type?: unknown; time?: unknown; request?: { path?: unknown; operation?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a line still being written
    }
    const path = entry.request?.path;
    if (entry.type !== 'request' || entry.request?.operation !== 'read' || typeof path !== 'string' || typeof entry.time !== 'string') continue;
    const m = kv.exec(path);
    const at = Date.parse(entry.time);
    if (m && Number.isFinite(at)) reads.push({ secret: `${kvMount}/data/${m[2]}`, at });
  }
  return reads;
}

export class AuditLog {
  private readonly file: string;
  private readonly kvMount: string;

  constructor(file: string, kvMount: string) {
    this.file = file;
    this.kvMount = kvMount;
  }

  /** where the log ends now */
  mark(): number {
    return statSync(this.file).size;
  }

  /** the requests answered since `from` (a mark), up to now */
  countSince(from: number): RequestCount {
    return countResponses(this.textSince(from), this.kvMount);
  }

  /** the secret reads the server got since `from` (a mark), up to now */
  readsSince(from: number): SecretRead[] {
    return secretReads(this.textSince(from), this.kvMount);
  }

  /** the whole lines appended since `from`: a line cut at the end belongs to the next window */
  private textSince(from: number): string {
    const to = this.mark();
    const fd = openSync(this.file, 'r');
    try {
      const bytes = Buffer.alloc(Math.max(0, to - from));
      const n = readSync(fd, bytes, 0, bytes.length, from);
      const text = bytes.subarray(0, n).toString('utf8');
      return text.slice(0, text.lastIndexOf('\n') + 1);
    } finally {
      closeSync(fd);
    }
  }
}
