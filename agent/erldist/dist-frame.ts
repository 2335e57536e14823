// Decoding one distribution frame (after the 4-byte length) into its control
// message and optional payload. We never advertise DFLAG_DIST_HDR_ATOM_CACHE
// so nodes send pass-through frames (112); the atom-cache header format is
// still understood in case a node uses it anyway.

import { ErlDistError } from './errors.ts';
import { DecodeBudget, TermReader } from './etf-decode.ts';
import * as T from './etf-tags.ts';
import { type Atom, Tuple, type Term } from './terms.ts';

export const PASS_THROUGH = 112;

export interface DistMessage {
  control: Tuple;
  payload: Term | undefined;
}

/** Atom cache of one connection: 8 segments x 256 entries, filled by headers. */
export class AtomCache {
  private readonly entries = new Map<number, Atom>();
  get(index: number): Atom | undefined {
    return this.entries.get(index);
  }
  set(index: number, a: Atom): void {
    this.entries.set(index, a);
  }
}

/**
 * Reads a DIST_HEADER (after 131, 68): NumberOfAtomCacheRefs, Flags (half a
 * byte per ref plus one for LongAtoms), then per ref an internal index and,
 * for new entries, the atom text. Returns the refs in order.
 */
function readDistHeader(r: TermReader, cache: AtomCache): Atom[] {
  const n = r.u8();
  if (n === 0) return [];
  const flagBytes = r.bytes(Math.floor(n / 2) + 1);
  const nibble = (i: number): number => {
    const b = flagBytes[Math.floor(i / 2)] as number;
    return i % 2 === 0 ? b & 0x0f : b >> 4;
  };
  const longAtoms = (nibble(n) & 0x01) !== 0;
  const refs: Atom[] = [];
  for (let i = 0; i < n; i++) {
    const f = nibble(i);
    const segment = f & 0x07;
    const internal = r.u8();
    const index = segment * 256 + internal;
    if ((f & 0x08) !== 0) {
      const a = r.atomText(longAtoms ? r.u16() : r.u8(), false);
      cache.set(index, a);
      refs.push(a);
    } else {
      const a = cache.get(index);
      if (a === undefined) r.fail(`distribution header refers to atom cache entry ${index}, which was never defined`);
      refs.push(a);
    }
  }
  return refs;
}

function readBareOrExternal(r: TermReader): Term {
  // Terms after a distribution header come without the version byte; accept both.
  if (r.buf[r.pos] === T.VERSION_MAGIC) return r.externalTerm();
  return r.term(0);
}

/** One frame is one message: control and payload share one decode budget (limits.ts). */
export function decodeDistFrame(frame: Buffer, cache: AtomCache): DistMessage {
  const budget = new DecodeBudget();
  let r: TermReader;
  let control: Term;
  if (frame[0] === PASS_THROUGH) {
    r = new TermReader(frame, 1, { budget });
    control = r.externalTerm();
  } else if (frame[0] === T.VERSION_MAGIC && frame[1] === T.DIST_HEADER) {
    const header = new TermReader(frame, 2, { budget });
    const refs = readDistHeader(header, cache);
    r = new TermReader(frame, header.pos, { atomCacheRefs: refs, budget });
    control = readBareOrExternal(r);
  } else if (frame[0] === T.VERSION_MAGIC && frame[1] === T.DIST_FRAG_HEADER) {
    throw new ErlDistError('protocol', 'the node sent a fragmented message although we did not offer DFLAG_FRAGMENTS');
  } else {
    throw new ErlDistError('protocol', `unknown distribution frame type ${frame[0]}`);
  }
  if (!(control instanceof Tuple) || typeof control.elements[0] !== 'number') {
    throw new ErlDistError('protocol', 'a distribution control message is not a tuple with an operation code');
  }
  const payload = r.pos < r.buf.length ? readBareOrExternal(r) : undefined;
  return { control, payload };
}
