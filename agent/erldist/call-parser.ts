// Parses `mod:fun(Arg, ...)` with literal arguments only: atoms, integers
// (decimal, Base#digits, $c), floats, "strings", <<"binaries">> / <<1,2,3>>,
// lists (proper and [H|T]), tuples, maps. Anything that would need evaluating
// (variables, operators, nested calls, funs) is refused with the position, so
// a reload notifier never runs a half-understood command.

import { ErlDistError } from './errors.ts';
import { MAX_TERM_DEPTH } from './limits.ts';
import { atom, Atom, ErlFloat, ErlMap, ImproperList, Tuple, type Term } from './terms.ts';

export interface ParsedCall {
  module: Atom;
  function: Atom;
  args: Term[];
}

class Parser {
  private pos = 0;
  /** containers open around the current term: the parser recurses once per level */
  private depth = 0;
  private readonly src: string;

  constructor(src: string) {
    this.src = src;
  }

  fail(what: string, at = this.pos): never {
    const shown = this.src.length > 120 ? `${this.src.slice(0, 117)}...` : this.src;
    throw new ErlDistError('usage', `cannot parse the Erlang call ${JSON.stringify(shown)} at character ${at + 1}: ${what}`);
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.src[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') this.pos++;
      else if (c === '%') {
        while (this.pos < this.src.length && this.src[this.pos] !== '\n') this.pos++;
      } else return;
    }
  }

  private peek(): string | undefined {
    this.skipSpace();
    return this.src[this.pos];
  }

  private lookingAt(s: string): boolean {
    this.skipSpace();
    return this.src.startsWith(s, this.pos);
  }

  private expect(s: string, context: string): void {
    if (!this.lookingAt(s)) {
      const found = this.pos >= this.src.length ? 'the end of the input' : JSON.stringify(this.src[this.pos]);
      this.fail(`expected ${JSON.stringify(s)} ${context}, found ${found}`);
    }
    this.pos += s.length;
  }

  call(): ParsedCall {
    const module = this.atomLiteral('a module name');
    this.expect(':', 'between module and function (write it as mod:fun(Args))');
    const fn = this.atomLiteral('a function name');
    this.expect('(', 'after the function name');
    const args = this.sequence(')', 'argument');
    this.skipSpace();
    if (this.src[this.pos] === '.') this.pos++;
    this.skipSpace();
    if (this.pos < this.src.length) this.fail('unexpected text after the call (only one call is allowed)');
    return { module, function: fn, args };
  }

  single(): Term {
    const t = this.term();
    this.skipSpace();
    if (this.src[this.pos] === '.') this.pos++;
    this.skipSpace();
    if (this.pos < this.src.length) this.fail('unexpected text after the term');
    return t;
  }

  private atomLiteral(what: string): Atom {
    const c = this.peek();
    if (c === "'") return atom(this.quotedText("'"));
    const m = /^[a-z\u00df-\u00f6\u00f8-\u00ff][a-zA-Z0-9_@\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]*/.exec(this.src.slice(this.pos));
    if (m === null) {
      if (c !== undefined && /[A-Z_]/.test(c)) this.fail(`${what} must be an atom; ${c}... is a variable`);
      this.fail(`expected ${what} (an atom)`);
    }
    this.pos += m[0].length;
    return atom(m[0]);
  }

  /** elements up to `close`, separated by commas; `close` is consumed */
  private sequence(close: string, what: string): Term[] {
    const items: Term[] = [];
    if (this.lookingAt(close)) {
      this.pos += close.length;
      return items;
    }
    for (;;) {
      items.push(this.term());
      if (this.lookingAt(',')) {
        this.pos++;
        continue;
      }
      this.expect(close, `or "," after the ${what}`);
      return items;
    }
  }

  term(): Term {
    if (this.depth > MAX_TERM_DEPTH) this.fail(`terms nested deeper than ${MAX_TERM_DEPTH} levels`);
    this.depth++;
    try {
      return this.termAtThisDepth();
    } finally {
      this.depth--;
    }
  }

  private termAtThisDepth(): Term {
    const c = this.peek();
    const start = this.pos;
    if (c === undefined) this.fail('expected a term, found the end of the input');
    if (c === '{') {
      this.pos++;
      return new Tuple(this.sequence('}', 'tuple element'));
    }
    if (c === '[') return this.list();
    if (c === '"') return [...this.quotedText('"')].map((ch) => ch.codePointAt(0) as number);
    if (c === "'") return atom(this.quotedText("'"));
    if (c === '$') return this.charLiteral();
    if (this.lookingAt('<<')) return this.binary();
    if (this.lookingAt('#{')) return this.map();
    if (c === '-' || c === '+' || /[0-9]/.test(c)) return this.number();
    if (/[a-z\u00df-\u00f6\u00f8-\u00ff]/.test(c)) {
      const a = this.atomLiteral('an atom');
      if (this.peek() === '(' || this.peek() === ':') this.fail('nested calls are not allowed; arguments must be literal terms', start);
      return a;
    }
    if (/[A-Z_]/.test(c)) this.fail('variables are not allowed; arguments must be literal terms');
    this.fail(`unexpected ${JSON.stringify(c)}; arguments must be literal terms`);
  }

  private list(): Term {
    this.pos++; // [
    if (this.lookingAt(']')) {
      this.pos++;
      return [];
    }
    const items: Term[] = [];
    for (;;) {
      items.push(this.term());
      if (this.lookingAt(',')) {
        this.pos++;
        continue;
      }
      if (this.lookingAt('|')) {
        this.pos++;
        const tail = this.term();
        this.expect(']', 'after the list tail');
        if (Array.isArray(tail)) return [...items, ...tail];
        if (tail instanceof ImproperList) return new ImproperList([...items, ...tail.elements], tail.tail);
        return new ImproperList(items, tail);
      }
      this.expect(']', 'or "," or "|" in the list');
      return items;
    }
  }

  private map(): Term {
    this.pos += 2; // #{
    const entries: Array<[Term, Term]> = [];
    if (this.lookingAt('}')) {
      this.pos++;
      return new ErlMap(entries);
    }
    for (;;) {
      const key = this.term();
      this.expect('=>', 'between a map key and its value');
      entries.push([key, this.term()]);
      if (this.lookingAt(',')) {
        this.pos++;
        continue;
      }
      this.expect('}', 'or "," in the map');
      return new ErlMap(entries);
    }
  }

  private binary(): Term {
    this.pos += 2; // <<
    const bytes: number[] = [];
    if (this.lookingAt('>>')) {
      this.pos += 2;
      return Buffer.alloc(0);
    }
    for (;;) {
      const c = this.peek();
      if (c === '"') {
        const text = this.quotedText('"');
        if (this.lookingAt('/utf8')) {
          this.pos += 5;
          bytes.push(...Buffer.from(text, 'utf8'));
        } else {
          for (const ch of text) {
            const cp = ch.codePointAt(0) as number;
            if (cp > 255) this.fail(`character ${JSON.stringify(ch)} does not fit a byte; write "..."/utf8`);
            bytes.push(cp);
          }
        }
      } else {
        const at = this.pos;
        const segmentRule = 'binary segments must be strings or integers 0..255 (sizes and types are not supported)';
        if (c === undefined || !/[-+0-9$]/.test(c)) this.fail(segmentRule, at);
        const n = c === '$' ? this.charLiteral() : this.number();
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 255 || this.lookingAt(':') || this.lookingAt('/')) {
          this.fail(segmentRule, at);
        }
        bytes.push(n);
      }
      if (this.lookingAt(',')) {
        this.pos++;
        continue;
      }
      this.expect('>>', 'or "," in the binary');
      return Buffer.from(bytes);
    }
  }

  private charLiteral(): number {
    this.pos++; // $
    const c = this.src[this.pos];
    if (c === undefined) this.fail('a character is missing after $');
    if (c === '\\') return this.escape();
    const cp = this.src.codePointAt(this.pos) as number;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private number(): number | bigint | ErlFloat {
    const rest = this.src.slice(this.pos);
    const m = /^[-+]?(?:([0-9]+)#([0-9a-zA-Z]+)|[0-9]+(\.[0-9]+([eE][-+]?[0-9]+)?)?)/.exec(rest);
    if (m === null) this.fail('expected a number');
    this.pos += m[0].length;
    if (/^[a-zA-Z_.]/.test(this.src.slice(this.pos)) && !/^\.\s*$/.test(this.src.slice(this.pos))) {
      this.fail('malformed number');
    }
    const negative = m[0].startsWith('-');
    if (m[1] !== undefined && m[2] !== undefined) {
      const base = Number(m[1]);
      if (base < 2 || base > 36) this.fail(`base ${base} is not between 2 and 36`);
      let v = 0n;
      for (const ch of m[2].toLowerCase()) {
        const d = Number.parseInt(ch, 36);
        if (d >= base) this.fail(`digit ${ch} is not valid in base ${base}`);
        v = v * BigInt(base) + BigInt(d);
      }
      return integer(negative ? -v : v);
    }
    if (m[3] !== undefined) return new ErlFloat(Number(m[0]));
    return integer(BigInt(m[0]));
  }

  private escape(): number {
    this.pos++; // backslash
    const c = this.src[this.pos];
    if (c === undefined) this.fail('an escape sequence is cut off');
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, b: 8, f: 12, e: 27, s: 32, d: 127 };
    if (c in simple) {
      this.pos++;
      return simple[c] as number;
    }
    const oct = /^[0-7]{1,3}/.exec(this.src.slice(this.pos));
    if (oct !== null) {
      this.pos += oct[0].length;
      return Number.parseInt(oct[0], 8);
    }
    if (c === 'x') {
      const hex = /^x(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{2}))/.exec(this.src.slice(this.pos));
      if (hex === null) this.fail('malformed \\x escape');
      this.pos += hex[0].length;
      return Number.parseInt((hex[1] ?? hex[2]) as string, 16);
    }
    const cp = this.src.codePointAt(this.pos) as number;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  private quotedText(quote: string): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) this.fail(`unterminated ${quote === '"' ? 'string' : 'quoted atom'}`, start);
      if (c === quote) {
        this.pos++;
        return out;
      }
      if (c === '\\') {
        out += String.fromCodePoint(this.escape());
        continue;
      }
      const cp = this.src.codePointAt(this.pos) as number;
      out += String.fromCodePoint(cp);
      this.pos += cp > 0xffff ? 2 : 1;
    }
  }
}

function integer(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** `erlmcp_config:reload()` -> { module: erlmcp_config, function: reload, args: [] } */
export function parseErlangCall(text: string): ParsedCall {
  if (text.trim() === '') throw new ErlDistError('usage', 'the Erlang call is empty; expected mod:fun(Args), e.g. erlmcp_config:reload()');
  return new Parser(text).call();
}

/** Parses one literal term, e.g. for tests or configuration values. */
export function parseErlangTerm(text: string): Term {
  return new Parser(text).single();
}
