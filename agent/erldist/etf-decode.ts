// External term format -> TS term. Decodes everything a modern node sends and
// the legacy encodings older nodes (or term_to_binary with minor_version 0)
// produce. Every read is bounds-checked: bad input is an ErlDistError('decode').

import { ErlDistError } from './errors.ts';
import * as T from './etf-tags.ts';
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

// Deep enough for any real reply, shallow enough to stay far from the JS stack limit.
const MAX_DEPTH = 1_000;

export interface DecodeOptions {
  /** atoms announced in a distribution header, indexed by ATOM_CACHE_REF */
  atomCacheRefs?: Atom[];
}

export class TermReader {
  readonly buf: Buffer;
  pos: number;
  private readonly atomCacheRefs: Atom[] | undefined;

  constructor(buf: Uint8Array, pos = 0, options: DecodeOptions = {}) {
    this.buf = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.atomCacheRefs = options.atomCacheRefs;
  }

  fail(what: string): never {
    throw new ErlDistError('decode', `invalid external term format at byte ${this.pos}: ${what}`);
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
      let inflated: Buffer;
      try {
        // node:zlib on first use: compressed terms are rare, the sidecar imports this always
        inflated = process.getBuiltinModule('node:zlib').inflateSync(this.buf.subarray(this.pos));
      } catch (e) {
        this.fail(`compressed term does not inflate (${(e as Error).message})`);
      }
      if (inflated.length !== size) this.fail(`compressed term inflates to ${inflated.length} bytes, header says ${size}`);
      const inner = new TermReader(inflated, 0, { atomCacheRefs: this.atomCacheRefs });
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

  private atomText(len: number, latin1: boolean): Atom {
    const b = this.bytes(len);
    return atom(latin1 ? b.toString('latin1') : b.toString('utf8'));
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
    const sign = this.u8();
    const digits = this.bytes(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(digits[i] as number);
    return canonicalInteger(sign === 0 ? v : -v);
  }

  term(depth: number): Term {
    if (depth > MAX_DEPTH) this.fail(`terms nested deeper than ${MAX_DEPTH}`);
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
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return new ErlFloat(v);
      }
      case T.FLOAT_EXT: {
        const text = this.bytes(31).toString('latin1').replace(/\0.*$/s, '');
        const v = Number.parseFloat(text);
        if (!Number.isFinite(v)) this.fail(`FLOAT_EXT text "${text}" is not a float`);
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
        return [];
      case T.STRING_EXT:
        return [...this.bytes(this.u16())];
      case T.LIST_EXT: {
        const n = this.u32();
        // Each element takes at least one byte: refuse absurd lengths early.
        this.need(n);
        const elements: Term[] = [];
        for (let i = 0; i < n; i++) elements.push(this.term(depth + 1));
        const tail = this.term(depth + 1);
        if (Array.isArray(tail)) return tail.length === 0 ? elements : [...elements, ...tail];
        if (tail instanceof ImproperList) return new ImproperList([...elements, ...tail.elements], tail.tail);
        return new ImproperList(elements, tail);
      }
      case T.BINARY_EXT:
        return this.bytes(this.u32());
      case T.BIT_BINARY_EXT: {
        const n = this.u32();
        const bits = this.u8();
        if (n === 0 || bits < 1 || bits > 8) this.fail(`bit binary with ${n} bytes and ${bits} tail bits`);
        const bytes = this.bytes(n);
        return bits === 8 ? bytes : new BitBinary(bytes, bits);
      }
      case T.MAP_EXT: {
        const n = this.u32();
        this.need(n * 2);
        const entries: Array<[Term, Term]> = [];
        for (let i = 0; i < n; i++) entries.push([this.term(depth + 1), this.term(depth + 1)]);
        return new ErlMap(entries);
      }
      case T.NEW_PID_EXT: {
        const node = this.atomTerm();
        return new Pid(node, this.u32(), this.u32(), this.u32());
      }
      case T.PID_EXT: {
        const node = this.atomTerm();
        return new Pid(node, this.u32(), this.u32(), this.u8());
      }
      case T.NEWER_REFERENCE_EXT:
      case T.NEW_REFERENCE_EXT: {
        const len = this.u16();
        if (len < 1 || len > 5) this.fail(`reference with ${len} id words`);
        const node = this.atomTerm();
        const creation = tag === T.NEWER_REFERENCE_EXT ? this.u32() : this.u8();
        const ids: number[] = [];
        for (let i = 0; i < len; i++) ids.push(this.u32());
        return new Ref(node, creation, ids);
      }
      case T.REFERENCE_EXT: {
        const node = this.atomTerm();
        const id = this.u32();
        return new Ref(node, this.u8(), [id]);
      }
      case T.NEW_PORT_EXT: {
        const node = this.atomTerm();
        const id = this.u32();
        return new Port(node, BigInt(id), this.u32());
      }
      case T.V4_PORT_EXT: {
        const node = this.atomTerm();
        const id = this.u64();
        return new Port(node, id, this.u32());
      }
      case T.PORT_EXT: {
        const node = this.atomTerm();
        const id = this.u32();
        return new Port(node, BigInt(id), this.u8());
      }
      case T.EXPORT_EXT: {
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
