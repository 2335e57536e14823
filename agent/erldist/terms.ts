// The TypeScript shape of Erlang terms.
//
// Mapping (chosen so that decoding is unambiguous and re-encoding is exact):
//   integer        number (safe integers) | bigint (anything larger)
//   float          ErlFloat (a JS number alone cannot tell 1.0 from 1);
//                  a JS number that is not a safe integer is also encoded as a float
//   atom           Atom (true/false may also be given as JS booleans)
//   binary         Uint8Array (decoded as Buffer); a JS string is sent as a
//                  UTF-8 binary; Erlang strings are lists of code points
//   bitstring      BitBinary (bits in the last byte: 1..7)
//   list           Term[] (proper); ImproperList for [a, b | T]
//   tuple          Tuple
//   map            ErlMap (ordered entries; key equality is structural)
//   pid/ref/port   Pid / Ref / Port
//   fun            ErlFun (NEW_FUN_EXT) / ErlExport (fun M:F/A)

export class Atom {
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  toString(): string {
    return this.name;
  }
}

/**
 * Atoms are plain values, compared by name (isAtom, termEquals): no table.
 * A process-wide intern table would keep every atom a peer ever sent, and a
 * connection held open for months would grow it without end.
 */
export function atom(name: string): Atom {
  return new Atom(name);
}

/** whether `t` is the atom `name` (true/false may be JS booleans) */
export function isAtom(t: unknown, name: string): boolean {
  if (typeof t === 'boolean') return String(t) === name;
  return t instanceof Atom && t.name === name;
}

export class ErlFloat {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

export class Tuple {
  readonly elements: Term[];
  constructor(elements: Term[]) {
    this.elements = elements;
  }
}

export function tuple(...elements: Term[]): Tuple {
  return new Tuple(elements);
}

export class ImproperList {
  readonly elements: Term[];
  readonly tail: Term;
  constructor(elements: Term[], tail: Term) {
    this.elements = elements;
    this.tail = tail;
  }
}

export class BitBinary {
  readonly bytes: Uint8Array;
  /** how many bits of the last byte belong to the bitstring (1..8) */
  readonly bits: number;
  constructor(bytes: Uint8Array, bits: number) {
    this.bytes = bytes;
    this.bits = bits;
  }
  get bitLength(): number {
    return this.bytes.length === 0 ? 0 : (this.bytes.length - 1) * 8 + this.bits;
  }
}

export class ErlMap {
  readonly entries: Array<[Term, Term]>;
  constructor(entries: Array<[Term, Term]>) {
    this.entries = entries;
  }
  get(key: Term): Term | undefined {
    for (const [k, v] of this.entries) if (termEquals(k, key)) return v;
    return undefined;
  }
}

export class Pid {
  readonly node: Atom;
  readonly id: number;
  readonly serial: number;
  readonly creation: number;
  constructor(node: Atom, id: number, serial: number, creation: number) {
    this.node = node;
    this.id = id;
    this.serial = serial;
    this.creation = creation;
  }
}

export class Ref {
  readonly node: Atom;
  readonly creation: number;
  readonly ids: number[];
  constructor(node: Atom, creation: number, ids: number[]) {
    this.node = node;
    this.creation = creation;
    this.ids = ids;
  }
}

export class Port {
  readonly node: Atom;
  readonly id: bigint;
  readonly creation: number;
  constructor(node: Atom, id: bigint, creation: number) {
    this.node = node;
    this.id = id;
    this.creation = creation;
  }
}

export class ErlExport {
  readonly module: Atom;
  readonly function: Atom;
  readonly arity: number;
  constructor(module: Atom, fn: Atom, arity: number) {
    this.module = module;
    this.function = fn;
    this.arity = arity;
  }
}

export class ErlFun {
  readonly arity: number;
  readonly uniq: Uint8Array;
  readonly index: number;
  readonly module: Atom;
  readonly oldIndex: number;
  readonly oldUniq: number;
  readonly pid: Pid;
  readonly freeVars: Term[];
  constructor(init: {
    arity: number;
    uniq: Uint8Array;
    index: number;
    module: Atom;
    oldIndex: number;
    oldUniq: number;
    pid: Pid;
    freeVars: Term[];
  }) {
    this.arity = init.arity;
    this.uniq = init.uniq;
    this.index = init.index;
    this.module = init.module;
    this.oldIndex = init.oldIndex;
    this.oldUniq = init.oldUniq;
    this.pid = init.pid;
    this.freeVars = init.freeVars;
  }
}

export type Term =
  | number
  | bigint
  | boolean
  | string
  | ErlFloat
  | Atom
  | Uint8Array
  | BitBinary
  | Term[]
  | ImproperList
  | Tuple
  | ErlMap
  | Pid
  | Ref
  | Port
  | ErlExport
  | ErlFun;

/** Integers are canonical when safe ones are numbers and only big ones bigints. */
export function canonicalInteger(n: bigint): number | bigint {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function asIntegerBig(t: Term): bigint | undefined {
  if (typeof t === 'bigint') return t;
  if (typeof t === 'number' && Number.isSafeInteger(t)) return BigInt(t);
  return undefined;
}

function asFloat(t: Term): number | undefined {
  if (t instanceof ErlFloat) return t.value;
  if (typeof t === 'number' && !Number.isSafeInteger(t)) return t;
  return undefined;
}

function asAtom(t: Term): Atom | undefined {
  if (t instanceof Atom) return t;
  if (typeof t === 'boolean') return atom(String(t));
  return undefined;
}

function asBytes(t: Term): Uint8Array | undefined {
  if (t instanceof Uint8Array) return t;
  if (typeof t === 'string') return Buffer.from(t, 'utf8');
  if (t instanceof BitBinary && t.bits === 8) return t.bytes;
  return undefined;
}

/**
 * Erlang's exact equality (=:=) on the TS representation: map entry order is
 * irrelevant, a JS string equals the same UTF-8 binary, number vs bigint of the
 * same value are equal.
 */
export function termEquals(a: Term, b: Term): boolean {
  const ia = asIntegerBig(a);
  if (ia !== undefined) return ia === asIntegerBig(b);
  const fa = asFloat(a);
  if (fa !== undefined) {
    const fb = asFloat(b);
    // Object.is keeps -0.0 apart from 0.0: the bytes on the wire differ.
    return fb !== undefined && Object.is(fa, fb);
  }
  const aa = asAtom(a);
  if (aa !== undefined) return aa.name === asAtom(b)?.name;
  const ba = asBytes(a);
  if (ba !== undefined) {
    const bb = asBytes(b);
    return bb !== undefined && bytesEqual(ba, bb);
  }
  if (a instanceof BitBinary) {
    return b instanceof BitBinary && a.bits === b.bits && bytesEqual(a.bytes, b.bytes);
  }
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => termEquals(x, b[i] as Term));
  }
  if (a instanceof ImproperList) {
    return (
      b instanceof ImproperList &&
      a.elements.length === b.elements.length &&
      a.elements.every((x, i) => termEquals(x, b.elements[i] as Term)) &&
      termEquals(a.tail, b.tail)
    );
  }
  if (a instanceof Tuple) {
    return (
      b instanceof Tuple &&
      a.elements.length === b.elements.length &&
      a.elements.every((x, i) => termEquals(x, b.elements[i] as Term))
    );
  }
  if (a instanceof ErlMap) {
    if (!(b instanceof ErlMap) || a.entries.length !== b.entries.length) return false;
    return a.entries.every(([k, v]) => {
      const other = b.get(k);
      return other !== undefined && termEquals(v, other);
    });
  }
  if (a instanceof Pid) {
    return (
      b instanceof Pid && a.node.name === b.node.name && a.id === b.id && a.serial === b.serial && a.creation === b.creation
    );
  }
  if (a instanceof Ref) {
    return (
      b instanceof Ref &&
      a.node.name === b.node.name &&
      a.creation === b.creation &&
      a.ids.length === b.ids.length &&
      a.ids.every((x, i) => x === b.ids[i])
    );
  }
  if (a instanceof Port) {
    return b instanceof Port && a.node.name === b.node.name && a.id === b.id && a.creation === b.creation;
  }
  if (a instanceof ErlExport) {
    return b instanceof ErlExport && a.module.name === b.module.name && a.function.name === b.function.name && a.arity === b.arity;
  }
  if (a instanceof ErlFun) {
    return (
      b instanceof ErlFun &&
      a.module.name === b.module.name &&
      a.index === b.index &&
      a.arity === b.arity &&
      bytesEqual(a.uniq, b.uniq) &&
      a.oldIndex === b.oldIndex &&
      a.oldUniq === b.oldUniq &&
      termEquals(a.pid, b.pid) &&
      a.freeVars.length === b.freeVars.length &&
      a.freeVars.every((x, i) => termEquals(x, b.freeVars[i] as Term))
    );
  }
  return false;
}
