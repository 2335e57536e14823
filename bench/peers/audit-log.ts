// Counts the requests an agent made, where the server saw them: OpenBao's
// file audit device writes one JSON line per request and one per response.
// The bench reads what was appended since a mark, so each agent's window is
// counted alone (agents are measured one at a time).

import { closeSync, openSync, readSync, statSync } from 'node:fs';

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
    const to = this.mark();
    const fd = openSync(this.file, 'r');
    try {
      const bytes = Buffer.alloc(Math.max(0, to - from));
      const n = readSync(fd, bytes, 0, bytes.length, from);
      const text = bytes.subarray(0, n).toString('utf8');
      // a line cut at the end is counted in the next window
      return countResponses(text.slice(0, text.lastIndexOf('\n') + 1), this.kvMount);
    } finally {
      closeSync(fd);
    }
  }
}
