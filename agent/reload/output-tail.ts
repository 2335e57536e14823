// Keeps only the end of a child's output: enough for an operator to see why a
// reload command failed. The window kept (64 KiB) is scrubbed of every
// registered secret value as a whole and only then cut to the short text
// shown (200 characters), so a value split by the window's edge is never
// shown in part unless it is longer than the window: a certificate chain or
// a large key echoed by the command still lies whole inside it.

import { scrub } from '../log/secret-registry.ts';

export class OutputTail {
  private readonly limit: number;
  private buf: Buffer = Buffer.alloc(0);

  constructor(limitBytes = 64 * 1024) {
    this.limit = limitBytes;
  }

  push(chunk: Buffer): void {
    const joined = Buffer.concat([this.buf, chunk]);
    this.buf = joined.length > this.limit ? joined.subarray(joined.length - this.limit) : joined;
  }

  /** the last line(s), at most maxChars, single-line, scrubbed */
  text(maxChars = 200): string {
    const s = scrub(this.buf.toString('utf8'))
      .replace(/[\r\n]+/g, ' | ')
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
      .trim()
      .replace(/^\|\s*|\s*\|$/g, '');
    return s.length > maxChars ? `…${s.slice(s.length - maxChars)}` : s;
  }
}
