// Seeded random Erlang terms (TS representation) for property tests. Terms
// are generated in canonical form (safe integers as numbers, others as
// bigints; bitstrings with zeroed padding; distinct map keys) so that a
// decode of their encoding compares equal with termEquals.

import {
  atom,
  BitBinary,
  ErlExport,
  ErlFloat,
  ErlMap,
  ImproperList,
  Pid,
  Port,
  Ref,
  Tuple,
  termEquals,
  type Term,
} from '../../agent/erldist/terms.ts';
import { seededRandom } from './seeded-random.ts';


export interface TermGenOptions {
  /** pids, refs, ports, export funs, bitstrings: no literal syntax */
  opaque: boolean;
  maxDepth: number;
}

export class TermGenerator {
  private readonly rnd: () => number;
  private readonly opts: TermGenOptions;

  constructor(seed: number, opts: TermGenOptions) {
    this.rnd = seededRandom(seed);
    this.opts = opts;
  }

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  private codePoint(): number {
    switch (this.int(4)) {
      case 0:
        return 0x20 + this.int(0x5f); // printable ASCII
      case 1:
        return this.int(0x100); // any latin-1 byte, control characters included
      case 2:
        return 0x100 + this.int(0xd700); // BMP below the surrogates
      default:
        return 0x10000 + this.int(0x10000); // astral plane
    }
  }

  private text(maxLen: number): string {
    const n = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCodePoint(this.codePoint());
    return s;
  }

  private bytes(maxLen: number): Buffer {
    const n = this.int(maxLen + 1);
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  private bigint(bytes: number): bigint {
    let v = 0n;
    for (let i = 0; i < bytes; i++) v = (v << 8n) | BigInt(this.int(256));
    return v;
  }

  private integer(): number | bigint {
    const neg = this.int(2) === 0;
    let v: bigint;
    switch (this.int(5)) {
      case 0:
        return this.int(256);
      case 1:
        return this.int(2 ** 32) - 2 ** 31;
      case 2:
        v = this.bigint(6 + this.int(3)); // around the safe-integer edge
        break;
      case 3:
        v = this.bigint(8 + this.int(30));
        break;
      default:
        v = this.bigint(250 + this.int(20)); // SMALL_BIG vs LARGE_BIG boundary
    }
    v = neg ? -v : v;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private float(): ErlFloat {
    switch (this.int(6)) {
      case 0:
        return new ErlFloat(this.pick([0, 1, -1, 0.5, 1e300, -1e-300, 5e-324, Number.MAX_VALUE]));
      case 1:
        return new ErlFloat(this.int(1_000_000)); // integral floats: 3.0 is not 3
      default: {
        const buf = Buffer.alloc(8);
        for (;;) {
          for (let i = 0; i < 8; i++) buf[i] = this.int(256);
          const f = buf.readDoubleBE(0);
          if (Number.isFinite(f)) return new ErlFloat(f);
        }
      }
    }
  }

  private atomTerm(): Term {
    switch (this.int(5)) {
      case 0:
        return this.pick([atom('ok'), atom('error'), atom('undefined'), true, false, atom(''), atom('case')]);
      case 1:
        return atom(`a${this.text(10).replace(/[^a-zA-Z0-9_@]/g, '')}`);
      default: {
        // Atoms hold at most 255 characters.
        return atom([...this.text(40)].slice(0, 255).join(''));
      }
    }
  }

  private nodeAtom() {
    return atom(this.pick(['gen@host', 'other@127.0.0.1', 'peer_é@vm', 'x@y.example']));
  }

  private leaf(): Term {
    const kinds = this.opts.opaque ? 14 : 9;
    switch (this.int(kinds)) {
      case 0:
      case 1:
        return this.integer();
      case 2:
        return this.float();
      case 3:
      case 4:
        return this.atomTerm();
      case 5:
        return this.bytes(this.int(3) === 0 ? 300 : 12);
      case 6: {
        // An Erlang string: a list of code points; bytes-only ones travel as STRING_EXT.
        const s = this.int(2) === 0 ? [...this.bytes(20)] : [...this.text(12)].map((c) => c.codePointAt(0) as number);
        return s;
      }
      case 7:
        return this.int(2) === 0 ? this.text(12) : Buffer.from(this.text(8), 'utf8');
      case 8:
        return this.pick<Term>([[], new Tuple([]), new ErlMap([]), Buffer.alloc(0)]);
      case 9: {
        const bits = 1 + this.int(7);
        const b = Buffer.concat([this.bytes(6), Buffer.from([this.int(256)])]);
        const last = b.length - 1;
        b[last] = (b[last] as number) & ((0xff << (8 - bits)) & 0xff);
        return new BitBinary(b, bits);
      }
      case 10:
        return new Pid(this.nodeAtom(), this.int(2 ** 15), this.int(2 ** 13), 1 + this.int(2 ** 31));
      case 11:
        return new Ref(this.nodeAtom(), 1 + this.int(2 ** 31), [this.int(2 ** 18), this.int(2 ** 32), this.int(2 ** 32)]);
      case 12:
        return new Port(this.nodeAtom(), BigInt(this.int(2 ** 28)), 1 + this.int(2 ** 31));
      default:
        return new ErlExport(atom(this.pick(['lists', 'erlang', 'maps'])), atom(this.pick(['reverse', 'node', 'get'])), this.int(4));
    }
  }

  term(depth = 0): Term {
    if (depth >= this.opts.maxDepth || this.int(3) === 0) return this.leaf();
    switch (this.int(4)) {
      case 0: {
        const n = this.int(6);
        return Array.from({ length: n }, () => this.term(depth + 1));
      }
      case 1: {
        const n = 1 + this.int(5);
        let tail = this.leaf();
        while (Array.isArray(tail)) tail = this.leaf();
        return new ImproperList(Array.from({ length: n }, () => this.term(depth + 1)), tail);
      }
      case 2:
        return new Tuple(Array.from({ length: this.int(6) }, () => this.term(depth + 1)));
      default: {
        const entries: Array<[Term, Term]> = [];
        const n = this.int(5);
        while (entries.length < n) {
          const k = this.term(depth + 1);
          if (!entries.some(([other]) => termEquals(other, k))) entries.push([k, this.term(depth + 1)]);
        }
        return new ErlMap(entries);
      }
    }
  }
}
