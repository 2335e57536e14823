// External term format -> TS term. Decodes everything a modern node sends and
// the legacy encodings older nodes (or term_to_binary with minor_version 0)
// produce. Every read is bounds-checked: bad input is an ErlDistError('decode').
// What a peer can make us allocate or compute is bounded too (limits.ts): the
// estimated memory of the decoded term, nesting, atom length, bignum size and
// what a compressed term inflates to. Crossing one is an ErlDistError('limit').

import { isUtf8 } from 'node:buffer';
import { ErlDistError } from './errors.ts';
import * as T from './etf-tags.ts';
import { MAX_ATOM_CHARS, MAX_BIG_BYTES, MAX_DECODED_BYTES, MAX_FRAME_BYTES, MAX_TERM_DEPTH } from './limits.ts';
import {
  atom,
  Atom,
  BitBinary,
  canonicalInteger,
  ErlExport,
  ErlFloat,
  ErlFun,
  ErlMap,
  ImproperList,
  Pid,
  Port,
  Ref,
  Tuple,
  type Term,
} from './terms.ts';

// Rough V8 sizes, in bytes, of what decoding allocates: a slot in the parent
// array (every term), a heap object (tuple, map, pid, array, atom...), and
// per-element storage. Estimates, not measurements: they only need to keep a
// frame of a million one-byte terms from becoming a gigabyte.
const SLOT_COST = 8;
const OBJECT_COST = 48;

/** How much decoded memory one message may still take; shared by all the readers of one frame. */
export class DecodeBudget {
  private left: number;
  readonly limit: number;
  constructor(limit = MAX_DECODED_BYTES) {
    this.limit = limit;
    this.left = limit;
  }
  /** false once the message has taken more than the limit */
  take(bytes: number): boolean {
    this.left -= bytes;
    return this.left >= 0;
  }
}

export interface DecodeOptions {
  /** atoms announced in a distribution header, indexed by ATOM_CACHE_REF */
  atomCacheRefs?: Atom[];
  /** shared when several terms make one message (a frame's control and payload) */
  budget?: DecodeBudget;
}

/** characters in a UTF-8 range: the bytes that do not continue a sequence (no string, no array) */
function utf8Chars(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (((buf[i] as number) & 0xc0) !== 0x80) n++;
  return n;
}

export class TermReader {
  readonly buf: Buffer;
  pos: number;
  private readonly atomCacheRefs: Atom[] | undefined;
  readonly budget: DecodeBudget;

  constructor(buf: Uint8Array, pos = 0, options: DecodeOptions = {}) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.atomCacheRefs = options.atomCacheRefs;
    this.budget = options.budget ?? new DecodeBudget();
  }

  fail(what: string): never {
    throw new ErlDistError('decode', `invalid external term format at byte ${this.pos}: ${what}`);
  }

  /** a well-formed term that is more than we accept */
  tooMuch(what: string): never {
    throw new ErlDistError('limit', `refused a term from the peer at byte ${this.pos}: ${what}`);
  }

  private charge(bytes: number): void {
    if (!this.budget.take(bytes)) {
      this.tooMuch(`it decodes to more than ${this.budget.limit} bytes of memory (too many or too large terms)`);
    }
  }

  need(n: number): void {
    if (this.pos + n > this.buf.length) this.fail(`needs ${n} more byte(s) but the data ends`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return Buffer.from(b);
  }

  /** one term preceded by the version magic byte */
  externalTerm(): Term {
    const magic = this.u8();
    if (magic !== T.VERSION_MAGIC) {
      this.pos--;
      this.fail(`expected version byte 131, found ${magic}`);
    }
    if (this.buf[this.pos] === T.COMPRESSED) {
      this.pos++;
      const size = this.u32();
      if (size > MAX_FRAME_BYTES) this.tooMuch(`a compressed term announces ${size} bytes; the limit is ${MAX_FRAME_BYTES}`);
      this.charge(size);
      let inflated: Buffer;
      try {
        // node:zlib on first use: compressed terms are rare, the sidecar imports this always.
        // The output bound stops a zip bomb at the size the header announced.
        inflated = process.getBuiltinModule('node:zlib').inflateSync(this.buf.subarray(this.pos), { maxOutputLength: Math.max(1, size) });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ERR_BUFFER_TOO_LARGE') this.tooMuch(`a compressed term inflates to more than the ${size} bytes its header says`);
        this.fail(`compressed term does not inflate (${code ?? 'zlib error'})`);
      }
      if (inflated.length !== size) this.fail(`compressed term inflates to ${inflated.length} bytes, header says ${size}`);
      const inner = new TermReader(inflated, 0, { budget: this.budget, ...(this.atomCacheRefs ? { atomCacheRefs: this.atomCacheRefs } : {}) });
      const t = inner.term(0);
      if (inner.pos !== inflated.length) inner.fail('trailing bytes after the compressed term');
      this.pos = this.buf.length;
      return t;
    }
    return this.term(0);
  }

  atomTerm(): Atom {
    const t = this.term(0);
    if (!(t instanceof Atom)) this.fail('expected an atom');
    return t;
  }

  /** `len` bytes of atom text (Latin-1 or UTF-8), within Erlang's atom length */
  atomText(len: number, latin1: boolean): Atom {
    // UTF-8 takes at most 4 bytes a character: refuse before reading.
    if (len > MAX_ATOM_CHARS * (latin1 ? 1 : 4)) this.tooMuch(`an atom of ${len} bytes; Erlang atoms have at most ${MAX_ATOM_CHARS} characters`);
    this.need(len);
    const start = this.pos;
    this.pos += len;
    // read in place, no copy: a flood of atoms must not become a flood of small buffers
    if (!latin1 && !isUtf8(this.buf.subarray(start, start + len))) {
      this.pos = start;
      this.fail('an atom whose text is not valid UTF-8');
    }
    const name = this.buf.toString(latin1 ? 'latin1' : 'utf8', start, start + len);
    const chars = latin1 ? len : utf8Chars(this.buf, start, start + len);
    if (chars > MAX_ATOM_CHARS) this.tooMuch(`an atom of ${chars} characters; Erlang atoms have at most ${MAX_ATOM_CHARS}`);
    this.charge(OBJECT_COST + 2 * name.length);
    return atom(name);
  }

  private pidTerm(): Pid {
    const t = this.term(0);
    if (!(t instanceof Pid)) this.fail('expected a pid');
    return t;
  }

  private smallIntTerm(): number {
    const t = this.term(0);
    if (typeof t !== 'number') this.fail('expected an integer');
    return t;
  }

  private big(n: number): number | bigint {
    if (n > MAX_BIG_BYTES) this.tooMuch(`an integer of ${n} bytes; the limit is ${MAX_BIG_BYTES}`);
    const sign = this.u8();
    const digits = this.bytes(n);
    this.charge(OBJECT_COST + n);
    // Little-endian digits -> one hex string -> one BigInt: linear, where
    // shifting a growing BigInt byte by byte is quadratic.
    const v = n === 0 ? 0n : BigInt(`0x${digits.reverse().toString('hex')}`);
    return canonicalInteger(sign === 0 ? v : -v);
  }

  term(depth: number): Term {
    if (depth > MAX_TERM_DEPTH) this.tooMuch(`terms nested deeper than ${MAX_TERM_DEPTH} levels`);
    this.charge(SLOT_COST);
    const tag = this.u8();
    switch (tag) {
      case T.SMALL_INTEGER_EXT:
        return this.u8();
      case T.INTEGER_EXT:
        return this.i32();
      case T.SMALL_BIG_EXT:
        return this.big(this.u8());
      case T.LARGE_BIG_EXT:
        return this.big(this.u32());
      case T.NEW_FLOAT_EXT: {
        this.need(8);
        this.charge(OBJECT_COST);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return new ErlFloat(v);
      }
      case T.FLOAT_EXT: {
        this.charge(OBJECT_COST);
        const text = this.bytes(31).toString('latin1').replace(/\0.*$/s, '');
        const v = Number.parseFloat(text);
        if (!Number.isFinite(v)) this.fail(`FLOAT_EXT text ${JSON.stringify(text)} is not a float`);
        return new ErlFloat(v);
      }
      case T.ATOM_UTF8_EXT:
        return this.atomText(this.u16(), false);
      case T.SMALL_ATOM_UTF8_EXT:
        return this.atomText(this.u8(), false);
      case T.ATOM_EXT:
        return this.atomText(this.u16(), true);
      case T.SMALL_ATOM_EXT:
        return this.atomText(this.u8(), true);
      case T.ATOM_CACHE_REF: {
        const index = this.u8();
        const a = this.atomCacheRefs?.[index];
        if (a === undefined) {
          this.fail(`ATOM_CACHE_REF ${index} without a distribution header that defines it`);
        }
        return a;
      }
      case T.SMALL_TUPLE_EXT:
        return this.tupleOf(this.u8(), depth);
      case T.LARGE_TUPLE_EXT:
        return this.tupleOf(this.u32(), depth);
      case T.NIL_EXT:
        this.charge(OBJECT_COST);
        return [];
      case T.STRING_EXT: {
        const n = this.u16();
        this.charge(OBJECT_COST + n * SLOT_COST);
        return [...this.bytes(n)];
      }
      case T.LIST_EXT: {
        const n = this.u32();
        // Each element takes at least one byte: refuse absurd lengths early.
        this.need(n);
        this.charge(OBJECT_COST);
        const elements: Term[] = [];
        for (let i = 0; i < n; i++) elements.push(this.term(depth + 1));
        const tail = this.term(depth + 1);
        // Real nodes never send a list as a list's tail; a chain of them
        // would copy quadratically, so the copies are paid for too.
        if (Array.isArray(tail)) {
          if (tail.length === 0) return elements;
          this.charge((elements.length + tail.length) * SLOT_COST);
          return [...elements, ...tail];
        }
        if (tail instanceof ImproperList) {
          this.charge((elements.length + tail.elements.length) * SLOT_COST);
          return new ImproperList([...elements, ...tail.elements], tail.tail);
        }
        return new ImproperList(elements, tail);
      }
      case T.BINARY_EXT: {
        const n = this.u32();
        this.need(n);
        this.charge(OBJECT_COST + n);
        return this.bytes(n);
      }
      case T.BIT_BINARY_EXT: {
        const n = this.u32();
        const bits = this.u8();
        if (n === 0 || bits < 1 || bits > 8) this.fail(`bit binary with ${n} bytes and ${bits} tail bits`);
        this.need(n);
        this.charge(2 * OBJECT_COST + n);
        const bytes = this.bytes(n);
        return bits === 8 ? bytes : new BitBinary(bytes, bits);
      }
      case T.MAP_EXT: {
        const n = this.u32();
        this.need(n * 2);
        this.charge(OBJECT_COST + n * OBJECT_COST);
        const entries: Array<[Term, Term]> = [];
        for (let i = 0; i < n; i++) entries.push([this.term(depth + 1), this.term(depth + 1)]);
        return new ErlMap(entries);
      }
      case T.NEW_PID_EXT: {
        this.charge(OBJECT_COST);
        const node = this.atomTerm();
        return new Pid(node, this.u32(), this.u32(), this.u32());
      }
      case T.PID_EXT: {
        this.charge(OBJECT_COST);
        const node = this.atomTerm();
        return new Pid(node, this.u32(), this.u32(), this.u8());
      }
      case T.NEWER_REFERENCE_EXT:
      case T.NEW_REFERENCE_EXT: {
        const len = this.u16();
        if (len < 1 || len > 5) this.fail(`reference with ${len} id words`);
        this.charge(2 * OBJECT_COST);
        const node = this.atomTerm();
        const creation = tag === T.NEWER_REFERENCE_EXT ? this.u32() : this.u8();
        const ids: number[] = [];
        for (let i = 0; i < len; i++) ids.push(this.u32());
        return new Ref(node, creation, ids);
      }
      case T.REFERENCE_EXT: {
        this.charge(2 * OBJECT_COST);
        const node = this.atomTerm();
        const id = this.u32();
        return new Ref(node, this.u8(), [id]);
      }
      case T.NEW_PORT_EXT: {
        this.charge(OBJECT_COST);
        const node = this.atomTerm();
        const id = this.u32();
        return new Port(node, BigInt(id), this.u32());
      }
      case T.V4_PORT_EXT: {
        this.charge(OBJECT_COST);
        const node = this.atomTerm();
        const id = this.u64();
        return new Port(node, id, this.u32());
      }
      case T.PORT_EXT: {
        this.charge(OBJECT_COST);
        const node = this.atomTerm();
        const id = this.u32();
        return new Port(node, BigInt(id), this.u8());
      }
      case T.EXPORT_EXT: {
        this.charge(OBJECT_COST);
        const module = this.atomTerm();
        const fn = this.atomTerm();
        return new ErlExport(module, fn, this.smallIntTerm());
      }
      case T.NEW_FUN_EXT: {
        const start = this.pos;
        const size = this.u32();
        const arity = this.u8();
        const uniq = this.bytes(16);
        const index = this.u32();
        const numFree = this.u32();
        this.need(numFree);
        this.charge(3 * OBJECT_COST);
        const module = this.atomTerm();
        const oldIndex = this.smallIntTerm();
        const oldUniq = this.smallIntTerm();
        const pid = this.pidTerm();
        const freeVars: Term[] = [];
        for (let i = 0; i < numFree; i++) freeVars.push(this.term(depth + 1));
        if (this.pos - start !== size) this.fail(`NEW_FUN_EXT says ${size} bytes but holds ${this.pos - start}`);
        return new ErlFun({ arity, uniq, index, module, oldIndex, oldUniq, pid, freeVars });
      }
      case T.LOCAL_EXT:
        this.pos--;
        this.fail('LOCAL_EXT terms can only be decoded by the node that made them');
      // falls through (fail never returns)
      case T.FUN_EXT:
        this.pos--;
        this.fail('FUN_EXT (pre-R8 funs) is not supported');
      // falls through
      default:
        this.pos--;
        this.fail(`unknown tag ${tag}`);
    }
  }

  private tupleOf(n: number, depth: number): Tuple {
    this.need(n);
    this.charge(2 * OBJECT_COST);
    const elements: Term[] = [];
    for (let i = 0; i < n; i++) elements.push(this.term(depth + 1));
    return new Tuple(elements);
  }
}

/** Decodes a whole binary_to_term/1 input; trailing bytes are an error. */
export function decodeTerm(buf: Uint8Array, options: DecodeOptions = {}): Term {
  const r = new TermReader(buf, 0, options);
  const t = r.externalTerm();
  if (r.pos !== r.buf.length) r.fail(`${r.buf.length - r.pos} trailing byte(s) after the term`);
  return t;
}
