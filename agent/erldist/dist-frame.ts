// Decoding one distribution frame (after the 4-byte length) into its control
// message and optional payload. We never advertise DFLAG_DIST_HDR_ATOM_CACHE
// so nodes send pass-through frames (112); the atom-cache header format is
// still understood in case a node uses it anyway.

import { ErlDistError } from './errors.ts';
import { DecodeBudget, type DecodeOptions, TermReader } from './etf-decode.ts';
import * as T from './etf-tags.ts';
import { type Atom, Ref, Tuple, type Term } from './terms.ts';

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

/** A frame whose payload is decoded only when asked for (and only as far as asked). */
export interface DistFrame {
  control: Tuple;
  /** the whole payload, or undefined when the frame has none */
  payload(): Term | undefined;
  /**
   * For a payload {Ref, Reply} (an rpc answer): the Ref alone, and a function
   * that decodes the Reply. A frame nobody waits for costs only its control
   * message and this peek, whatever its payload holds.
   */
  replyRef(): { ref: Ref; reply(): Term } | undefined;
}

/** One frame is one message: control and payload share one decode budget (limits.ts). */
export function readDistFrame(frame: Buffer, cache: AtomCache): DistFrame {
  const budget = new DecodeBudget();
  let options: DecodeOptions = { budget };
  let r: TermReader;
  let control: Term;
  if (frame[0] === PASS_THROUGH) {
    r = new TermReader(frame, 1, options);
    control = r.externalTerm();
  } else if (frame[0] === T.VERSION_MAGIC && frame[1] === T.DIST_HEADER) {
    const header = new TermReader(frame, 2, options);
    options = { atomCacheRefs: readDistHeader(header, cache), budget };
    r = new TermReader(frame, header.pos, options);
    control = readBareOrExternal(r);
  } else if (frame[0] === T.VERSION_MAGIC && frame[1] === T.DIST_FRAG_HEADER) {
    throw new ErlDistError('protocol', 'the node sent a fragmented message although we did not offer DFLAG_FRAGMENTS');
  } else {
    throw new ErlDistError('protocol', `unknown distribution frame type ${frame[0]}`);
  }
  if (!(control instanceof Tuple) || typeof control.elements[0] !== 'number') {
    throw new ErlDistError('protocol', 'a distribution control message is not a tuple with an operation code');
  }
  const payloadAt = r.pos;
  const payload = (): Term | undefined => (payloadAt < frame.length ? readBareOrExternal(new TermReader(frame, payloadAt, options)) : undefined);
  const replyRef = (): { ref: Ref; reply(): Term } | undefined => {
    let p = payloadAt;
    if (frame[p] === T.VERSION_MAGIC) p++;
    if (frame[p] === T.COMPRESSED) {
      // the tuple is inside the compression: nothing to peek at
      const whole = payload();
      const [ref, reply] = whole instanceof Tuple && whole.elements.length === 2 ? whole.elements : [];
      return ref instanceof Ref && reply !== undefined ? { ref, reply: () => reply } : undefined;
    }
    if (frame[p] !== T.SMALL_TUPLE_EXT || frame[p + 1] !== 2) return undefined;
    const tr = new TermReader(frame, p + 2, options);
    const ref = tr.term(1);
    return ref instanceof Ref ? { ref, reply: () => tr.term(1) } : undefined;
  };
  return { control, payload, replyRef };
}

/** The control message and the whole payload, decoded at once. */
export function decodeDistFrame(frame: Buffer, cache: AtomCache): DistMessage {
  const f = readDistFrame(frame, cache);
  return { control: f.control, payload: f.payload() };
}
