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

/** Where a change's time went, from the server's side: `writtenAt`, when the
 * server answered the write of `secret` (a KV v2 path under kvMount, as in
 * secretPath) with its new version; `checkedAt`, when it answered the first
 * read of the secret (value or metadata) that returned that version or a
 * later one. The audit device hides strings, not numbers, so the versions
 * are there to compare. From the change to that check the agent was waiting
 * for its schedule; from that check to the new line in the file, it worked.
 * Undefined when the text holds no such write or no such read. */
export function changeStages(text: string, kvMount: string, secret: string): { writtenAt: number; checkedAt: number } | undefined {
  const data = `${kvMount}/data/${secret}`;
  const metadata = `${kvMount}/metadata/${secret}`;
  const responses: Array<{ at: number; path: unknown; operation: unknown; data: Record<string, unknown> }> = [];
  for (const line of text.split('\n')) {
    if (line.length === 0 || line.length > MAX_LINE) continue;
    let entry: { type?: unknown; time?: unknown; request?: { path?: unknown; operation?: unknown }; response?: { data?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const at = typeof entry.time === 'string' ? Date.parse(entry.time) : NaN;
    const body = entry.response?.data;
    if (entry.type !== 'response' || !Number.isFinite(at) || typeof body !== 'object' || body === null) continue;
    responses.push({ at, path: entry.request?.path, operation: entry.request?.operation, data: body as Record<string, unknown> });
  }
  // a read that saw the new version can be logged before the write's own answer
  const write = responses.find((r) => r.path === data && (r.operation === 'create' || r.operation === 'update') && typeof r.data.version === 'number');
  if (!write) return undefined;
  const version = write.data.version as number;
  const seen = (r: (typeof responses)[number]): boolean => {
    if (r.operation !== 'read') return false;
    if (r.path === metadata) return typeof r.data.current_version === 'number' && r.data.current_version >= version;
    const meta = r.data.metadata as { version?: unknown } | undefined;
    return r.path === data && typeof meta?.version === 'number' && meta.version >= version;
  };
  const check = responses.find(seen);
  return check ? { writtenAt: write.at, checkedAt: check.at } : undefined;
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

  /** changeStages over what was appended since `from` */
  changeStagesSince(from: number, secret: string): { writtenAt: number; checkedAt: number } | undefined {
    return changeStages(this.textSince(from), this.kvMount, secret);
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
