// TS term -> external term format. Produces the same encodings a modern node
// does (UTF-8 atoms, NEW_FLOAT_EXT, NEW_PID_EXT, NEWER_REFERENCE_EXT), so a
// term Erlang decodes and re-encodes comes back byte-comparable.

import { ByteWriter } from './byte-writer.ts';
import { ErlDistError } from './errors.ts';
import * as T from './etf-tags.ts';
import { MAX_ATOM_CHARS } from './limits.ts';
import {
  atom,
  Atom,
  BitBinary,
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

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Encodes one term with the version magic byte: what binary_to_term/1 reads. */
export function encodeTerm(term: Term): Buffer {
  const w = new ByteWriter();
  w.u8(T.VERSION_MAGIC);
  writeTerm(w, term, '');
  return w.toBuffer();
}

/** Appends a term (with version magic) to an existing writer. */
export function writeExternalTerm(w: ByteWriter, term: Term): void {
  w.u8(T.VERSION_MAGIC);
  writeTerm(w, term, '');
}

function fail(path: string, what: string): never {
  throw new ErlDistError('encode', `cannot encode ${path === '' ? 'the term' : `the term at ${path}`}: ${what}`);
}

export function writeAtom(w: ByteWriter, a: Atom, path = ''): void {
  const chars = [...a.name].length;
  if (chars > MAX_ATOM_CHARS) fail(path, `atom has ${chars} characters; Erlang allows at most ${MAX_ATOM_CHARS}`);
  const bytes = Buffer.from(a.name, 'utf8');
  if (bytes.length < 256) {
    w.u8(T.SMALL_ATOM_UTF8_EXT).u8(bytes.length);
  } else {
    w.u8(T.ATOM_UTF8_EXT).u16(bytes.length);
  }
  w.bytes(bytes);
}

function writeBigInteger(w: ByteWriter, n: bigint): void {
  const sign = n < 0n ? 1 : 0;
  let mag = n < 0n ? -n : n;
  const digits: number[] = [];
  while (mag > 0n) {
    digits.push(Number(mag & 0xffn));
    mag >>= 8n;
  }
  if (digits.length < 256) w.u8(T.SMALL_BIG_EXT).u8(digits.length);
  else w.u8(T.LARGE_BIG_EXT).u32(digits.length);
  w.u8(sign);
  w.bytes(Uint8Array.from(digits));
}

function writeInteger(w: ByteWriter, n: number | bigint): void {
  if (typeof n === 'number') {
    if (n >= 0 && n <= 255) {
      w.u8(T.SMALL_INTEGER_EXT).u8(n);
      return;
    }
    if (n >= INT32_MIN && n <= INT32_MAX) {
      w.u8(T.INTEGER_EXT).i32(n);
      return;
    }
    writeBigInteger(w, BigInt(n));
    return;
  }
  if (n >= 0n && n <= 255n) w.u8(T.SMALL_INTEGER_EXT).u8(Number(n));
  else if (n >= BigInt(INT32_MIN) && n <= BigInt(INT32_MAX)) w.u8(T.INTEGER_EXT).i32(Number(n));
  else writeBigInteger(w, n);
}

function writeFloat(w: ByteWriter, f: number, path: string): void {
  if (!Number.isFinite(f)) fail(path, `${f} is not a finite number; Erlang floats cannot be NaN or infinite`);
  w.u8(T.NEW_FLOAT_EXT).f64(f);
}

function isByteList(list: Term[]): boolean {
  if (list.length === 0 || list.length > 0xffff) return false;
  for (const x of list) if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) return false;
  return true;
}

function writeU32Field(path: string, what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(path, `${what} ${v} is not a 32-bit unsigned integer`);
  return v;
}

export function writePid(w: ByteWriter, p: Pid, path = ''): void {
  w.u8(T.NEW_PID_EXT);
  writeAtom(w, p.node, path);
  w.u32(writeU32Field(path, 'pid id', p.id));
  w.u32(writeU32Field(path, 'pid serial', p.serial));
  w.u32(writeU32Field(path, 'pid creation', p.creation));
}

export function writeRef(w: ByteWriter, r: Ref, path = ''): void {
  if (r.ids.length < 1 || r.ids.length > 5) fail(path, `a reference has 1 to 5 id words, not ${r.ids.length}`);
  w.u8(T.NEWER_REFERENCE_EXT).u16(r.ids.length);
  writeAtom(w, r.node, path);
  w.u32(writeU32Field(path, 'reference creation', r.creation));
  for (const id of r.ids) w.u32(writeU32Field(path, 'reference id', id));
}

function writePort(w: ByteWriter, p: Port, path: string): void {
  if (p.id < 0n || p.id > 0xffffffffffffffffn) fail(path, `port id ${p.id} does not fit 64 bits`);
  if (p.id <= 0xffffffffn) {
    w.u8(T.NEW_PORT_EXT);
    writeAtom(w, p.node, path);
    w.u32(Number(p.id));
  } else {
    w.u8(T.V4_PORT_EXT);
    writeAtom(w, p.node, path);
    w.u64(p.id);
  }
  w.u32(writeU32Field(path, 'port creation', p.creation));
}

function writeFun(w: ByteWriter, f: ErlFun, path: string): void {
  if (f.uniq.length !== 16) fail(path, 'a fun needs a 16-byte uniq');
  w.u8(T.NEW_FUN_EXT);
  const sizeAt = w.length;
  w.u32(0);
  w.u8(f.arity);
  w.bytes(f.uniq);
  w.u32(f.index);
  w.u32(f.freeVars.length);
  writeAtom(w, f.module, path);
  writeInteger(w, f.oldIndex);
  writeInteger(w, f.oldUniq);
  writePid(w, f.pid, path);
  f.freeVars.forEach((v, i) => writeTerm(w, v, `${path}.free[${i}]`));
  // Size counts from the size field itself (not the tag) to the end of the fun.
  w.patchU32(sizeAt, w.length - sizeAt);
}

function writeTerm(w: ByteWriter, t: Term, path: string): void {
  if (typeof t === 'number') {
    // Integers beyond 2^53 are bigints in this mapping; a JS number that large
    // is a float that happens to have no fraction (1.5e300).
    if (Number.isSafeInteger(t)) writeInteger(w, t);
    else writeFloat(w, t, path);
    return;
  }
  if (typeof t === 'bigint') return writeInteger(w, t);
  if (typeof t === 'boolean') return writeAtom(w, atom(String(t)), path);
  if (typeof t === 'string') {
    const bytes = Buffer.from(t, 'utf8');
    w.u8(T.BINARY_EXT).u32(bytes.length).bytes(bytes);
    return;
  }
  if (t instanceof Atom) return writeAtom(w, t, path);
  if (t instanceof ErlFloat) return writeFloat(w, t.value, path);
  if (t instanceof Uint8Array) {
    w.u8(T.BINARY_EXT).u32(t.length).bytes(t);
    return;
  }
  if (t instanceof BitBinary) {
    if (t.bytes.length === 0) {
      w.u8(T.BINARY_EXT).u32(0);
      return;
    }
    if (!Number.isInteger(t.bits) || t.bits < 1 || t.bits > 8) fail(path, `bitstring tail bits must be 1..8, not ${t.bits}`);
    if (t.bits === 8) {
      w.u8(T.BINARY_EXT).u32(t.bytes.length).bytes(t.bytes);
      return;
    }
    // Unused low bits of the last byte are zero in Erlang's own encoding.
    const bytes = Uint8Array.from(t.bytes);
    const last = bytes.length - 1;
    bytes[last] = (bytes[last] as number) & ((0xff << (8 - t.bits)) & 0xff);
    w.u8(T.BIT_BINARY_EXT).u32(bytes.length).u8(t.bits).bytes(bytes);
    return;
  }
  if (Array.isArray(t)) {
    if (t.length === 0) {
      w.u8(T.NIL_EXT);
      return;
    }
    if (isByteList(t)) {
      w.u8(T.STRING_EXT).u16(t.length).bytes(Uint8Array.from(t as number[]));
      return;
    }
    w.u8(T.LIST_EXT).u32(t.length);
    t.forEach((x, i) => writeTerm(w, x, `${path}[${i}]`));
    w.u8(T.NIL_EXT);
    return;
  }
  if (t instanceof ImproperList) {
    if (t.elements.length === 0) return writeTerm(w, t.tail, path);
    w.u8(T.LIST_EXT).u32(t.elements.length);
    t.elements.forEach((x, i) => writeTerm(w, x, `${path}[${i}]`));
    writeTerm(w, t.tail, `${path}|tail`);
    return;
  }
  if (t instanceof Tuple) {
    const n = t.elements.length;
    if (n < 256) w.u8(T.SMALL_TUPLE_EXT).u8(n);
    else w.u8(T.LARGE_TUPLE_EXT).u32(n);
    t.elements.forEach((x, i) => writeTerm(w, x, `${path}{${i}}`));
    return;
  }
  if (t instanceof ErlMap) {
    w.u8(T.MAP_EXT).u32(t.entries.length);
    t.entries.forEach(([k, v], i) => {
      writeTerm(w, k, `${path}#key${i}`);
      writeTerm(w, v, `${path}#value${i}`);
    });
    return;
  }
  if (t instanceof Pid) return writePid(w, t, path);
  if (t instanceof Ref) return writeRef(w, t, path);
  if (t instanceof Port) return writePort(w, t, path);
  if (t instanceof ErlExport) {
    w.u8(T.EXPORT_EXT);
    writeAtom(w, t.module, path);
    writeAtom(w, t.function, path);
    writeInteger(w, t.arity);
    return;
  }
  if (t instanceof ErlFun) return writeFun(w, t, path);
  fail(path, `a ${describeJsValue(t)} has no Erlang equivalent`);
}

function describeJsValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return `${(v as object).constructor?.name ?? 'object'} object`;
  return typeof v;
}
