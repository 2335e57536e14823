// Seeded fuzzing of the ETF decoder (a fixed set of cases on every run, so a
// failure replays): encodings of random terms, then mutated, truncated,
// spliced, given absurd lengths, wrapped in compression, or replaced by
// random bytes. Whatever the bytes, the decoder returns a term or throws its
// own ErlDistError ('decode' or 'limit'): never another exception, never a
// hang, never unbounded memory. What decodes must also print (formatTerm,
// the notifier's redacted form) without throwing.

import { deflateSync } from 'node:zlib';
import t from 'tap';
import { AtomCache, decodeDistFrame, readDistFrame } from '../../agent/erldist/dist-frame.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { decodeTerm } from '../../agent/erldist/etf-decode.ts';
import { encodeTerm } from '../../agent/erldist/etf-encode.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import type { Term } from '../../agent/erldist/terms.ts';
import { describeNodeTerm } from '../../agent/reload/erlang-term-redact.ts';
import { TermGenerator } from '../helpers/random-erlang-terms.ts';
import { seededRandom } from '../helpers/seeded-random.ts';

const SEED = 20261203;
const CASES = 2500;
// generous: the machine is shared; a quadratic path shows up as seconds
const MAX_CASE_MS = 2000;
const MAX_RSS_GROWTH_MIB = 256;

const rnd = seededRandom(SEED);
const int = (n: number): number => Math.floor(rnd() * n);
const gen = new TermGenerator(SEED, { opaque: true, maxDepth: 5 });

const ABSURD_LENGTHS = [0xffffffff, 0x7fffffff, 0x01000000, 0x00ffffff, 65_535, 256, 255, 0];

function randomBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
}

/** one hostile variation of a valid encoding */
function mutate(valid: Buffer, other: Buffer): Buffer {
  const b = Buffer.from(valid);
  switch (int(9)) {
    case 0: // flip some bytes
      for (let i = 0, n = 1 + int(4); i < n; i++) b[1 + int(Math.max(1, b.length - 1))] = int(256);
      return b;
    case 1: // cut short
      return b.subarray(0, int(b.length));
    case 2: // an absurd 4-byte length anywhere
      if (b.length > 5) b.writeUInt32BE(ABSURD_LENGTHS[int(ABSURD_LENGTHS.length)] as number, 1 + int(b.length - 5));
      return b;
    case 3: // an absurd 2-byte length anywhere
      if (b.length > 3) b.writeUInt16BE(int(2) === 0 ? 0xffff : int(0x10000), 1 + int(b.length - 3));
      return b;
    case 4: // splice two encodings
      return Buffer.concat([b.subarray(0, int(b.length)), other.subarray(int(other.length))]);
    case 5: // random bytes after the version byte
      return Buffer.concat([Buffer.from([131]), randomBytes(int(64))]);
    case 6: // compressed, with a true or a false size
      return Buffer.concat([
        Buffer.from([131, 80]),
        (() => {
          const size = Buffer.alloc(4);
          size.writeUInt32BE(int(3) === 0 ? ABSURD_LENGTHS[int(ABSURD_LENGTHS.length)] as number : b.length - 1, 0);
          return size;
        })(),
        deflateSync(int(2) === 0 ? b.subarray(1) : mutate(b, other).subarray(1)),
      ]);
    case 7: // a tag byte inserted
      return Buffer.concat([b.subarray(0, 1 + int(b.length)), Buffer.from([int(256)]), b.subarray(1 + int(b.length))]);
    default: // a valid encoding repeated inside a list header
      return Buffer.concat([Buffer.from([131, 108]), Buffer.from([0, 0, 0, 3]), b.subarray(1), b.subarray(1), b.subarray(1), Buffer.from([106])]);
  }
}

function ownError(e: unknown): boolean {
  return e instanceof ErlDistError && (e.kind === 'decode' || e.kind === 'limit');
}

t.test(`${CASES} seeded hostile inputs: a term or the decoder's own error, in bounded time and memory`, async (t) => {
  const rssBefore = process.memoryUsage().rss;
  const foreign: string[] = [];
  let decoded = 0;
  let refused = 0;
  let slowest = 0;
  let previous = encodeTerm(gen.term());
  for (let i = 0; i < CASES; i++) {
    const valid = encodeTerm(gen.term());
    const input = mutate(valid, previous);
    previous = valid;
    const started = performance.now();
    try {
      const term: Term = decodeTerm(input);
      formatTerm(term);
      describeNodeTerm(term);
      decoded++;
    } catch (e) {
      if (ownError(e)) refused++;
      else foreign.push(`case ${i} (seed ${SEED}): ${String(e)} for ${input.subarray(0, 64).toString('hex')}`);
    }
    // the same bytes as a distribution frame's payload
    try {
      const frame = Buffer.concat([Buffer.from([112]), encodeTerm(gen.term()), input]);
      decodeDistFrame(frame, new AtomCache());
      readDistFrame(frame, new AtomCache()).replyRef()?.reply(); // the client's lazy path
    } catch (e) {
      if (!ownError(e) && !(e instanceof ErlDistError && e.kind === 'protocol')) foreign.push(`frame case ${i}: ${String(e)}`);
    }
    slowest = Math.max(slowest, performance.now() - started);
  }
  t.same(foreign.slice(0, 5), [], 'no exception but the decoder\'s own');
  t.ok(decoded > CASES / 20 && refused > CASES / 2, `both outcomes are exercised (${decoded} decoded, ${refused} refused)`);
  t.ok(slowest < MAX_CASE_MS, `slowest case ${slowest.toFixed(1)} ms`);
  const growthMiB = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
  t.ok(growthMiB < MAX_RSS_GROWTH_MIB, `RSS grew ${growthMiB.toFixed(0)} MiB`);
});

t.test('random byte strings of every length up to 300', async (t) => {
  const foreign: string[] = [];
  for (let i = 0; i < 3000; i++) {
    const input = Buffer.concat([Buffer.from([131]), randomBytes(int(300))]);
    try {
      formatTerm(decodeTerm(input));
    } catch (e) {
      if (!ownError(e)) foreign.push(`${String(e)} for ${input.toString('hex')}`);
    }
  }
  t.same(foreign.slice(0, 5), [], 'no exception but the decoder\'s own');
});
