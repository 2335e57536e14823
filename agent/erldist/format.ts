// TS term -> Erlang source text, in the style of io_lib:format("~tp") on one
// line. Used for CLI output and for the reasons quoted in error messages, so
// the output for literal terms parses back with call-parser.ts.
// Pids, refs, ports and funs have no literal syntax; they print as
// #Pid<'node'.Id.Serial>, #Ref<...>, #Port<...>, #Fun<...> so the node is visible.

import { isInvisibleControl } from './peer-text.ts';
import {
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

const RESERVED_WORDS = new Set([
  'after', 'and', 'andalso', 'band', 'begin', 'bnot', 'bor', 'bsl', 'bsr', 'bxor', 'case', 'catch', 'cond',
  'div', 'else', 'end', 'fun', 'if', 'let', 'maybe', 'not', 'of', 'or', 'orelse', 'receive', 'rem', 'try',
  'when', 'xor',
]);

function escapeChar(cp: number, quote: string): string {
  switch (cp) {
    case 0x0a: return '\\n';
    case 0x0d: return '\\r';
    case 0x09: return '\\t';
    case 0x0b: return '\\v';
    case 0x08: return '\\b';
    case 0x0c: return '\\f';
    case 0x1b: return '\\e';
    case 0x7f: return '\\d';
    case 0x5c: return '\\\\';
    default:
      if (String.fromCodePoint(cp) === quote) return `\\${quote}`;
      // C0 and C1 controls as octal, invisible and bidi controls as \x{..},
      // like io_lib: a peer's atom must not drive the operator's terminal.
      if (cp < 0x20 || (cp >= 0x80 && cp <= 0x9f)) return `\\${cp.toString(8).padStart(3, '0')}`;
      if (isInvisibleControl(cp)) return `\\x{${cp.toString(16).toUpperCase()}}`;
      return String.fromCodePoint(cp);
  }
}

function quoted(codePoints: Iterable<number>, quote: string): string {
  let out = quote;
  for (const cp of codePoints) out += escapeChar(cp, quote);
  return out + quote;
}

/** how `text` reads between the quotes of a quoted atom (') or a string (") we print */
export function escapedText(text: string, quote: "'" | '"'): string {
  return quoted([...text].map((c) => c.codePointAt(0) as number), quote).slice(1, -1);
}

export function formatAtom(a: Atom): string {
  const n = a.name;
  // Erlang's unquoted atoms: a lowercase first letter, then letters, digits,
  // _ and @; Latin-1 letters count as letters (io_lib quotes anything beyond).
  if (/^[a-z\u00df-\u00f6\u00f8-\u00ff][a-zA-Z0-9_@\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff]*$/.test(n) && !RESERVED_WORDS.has(n)) return n;
  return quoted([...n].map((c) => c.codePointAt(0) as number), "'");
}

export function formatFloat(f: number): string {
  if (Object.is(f, -0)) return '-0.0';
  // JS gives the shortest round-tripping digits; Erlang wants a '.' in the
  // mantissa and no '+' in the exponent.
  const s = f.toString();
  const [mantissa = s, exponent] = s.split('e');
  const m = mantissa.includes('.') ? mantissa : `${mantissa}.0`;
  return exponent === undefined ? m : `${m}e${exponent.replace('+', '')}`;
}

/** printable like io_lib:printable_unicode_list/1 (what ~tp prints as "...") */
function isPrintableCodePoint(cp: number): boolean {
  if (cp >= 0x20 && cp <= 0x7e) return true;
  if (cp >= 0xa0 && cp <= 0xd7ff) return true;
  if (cp >= 0xe000 && cp <= 0xfffd) return true;
  if (cp >= 0x10000 && cp <= 0x10ffff) return true;
  return [0x0a, 0x0d, 0x09, 0x0b, 0x08, 0x0c, 0x1b].includes(cp);
}

function isPrintableString(list: Term[]): list is number[] {
  return list.length > 0 && list.every((x) => typeof x === 'number' && Number.isInteger(x) && isPrintableCodePoint(x));
}

function formatBinary(bytes: Uint8Array): string {
  if (bytes.length === 0) return '<<>>';
  const asciiPrintable = [...bytes].every((b) => isPrintableCodePoint(b) && b < 0x7f);
  if (asciiPrintable) return `<<${quoted(bytes, '"')}>>`;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const roundTrips = Buffer.from(text, 'utf8').equals(Buffer.from(bytes));
  const cps = [...text].map((c) => c.codePointAt(0) as number);
  if (roundTrips && cps.every(isPrintableCodePoint)) return `<<${quoted(cps, '"')}/utf8>>`;
  return `<<${[...bytes].join(',')}>>`;
}

function formatBitBinary(b: BitBinary): string {
  if (b.bits === 8) return formatBinary(b.bytes);
  const whole = [...b.bytes.subarray(0, b.bytes.length - 1)].map(String);
  const last = (b.bytes[b.bytes.length - 1] as number) >> (8 - b.bits);
  return `<<${[...whole, `${last}:${b.bits}`].join(',')}>>`;
}

export function formatTerm(t: Term): string {
  if (typeof t === 'number') return Number.isSafeInteger(t) ? String(t) : formatFloat(t);
  if (typeof t === 'bigint') return t.toString();
  if (typeof t === 'boolean') return String(t);
  if (typeof t === 'string') return formatBinary(Buffer.from(t, 'utf8'));
  if (t instanceof Atom) return formatAtom(t);
  if (t instanceof ErlFloat) return formatFloat(t.value);
  if (t instanceof Uint8Array) return formatBinary(t);
  if (t instanceof BitBinary) return formatBitBinary(t);
  if (Array.isArray(t)) {
    if (isPrintableString(t)) return quoted(t, '"');
    return `[${t.map(formatTerm).join(',')}]`;
  }
  if (t instanceof ImproperList) return `[${t.elements.map(formatTerm).join(',')}|${formatTerm(t.tail)}]`;
  if (t instanceof Tuple) return `{${t.elements.map(formatTerm).join(',')}}`;
  if (t instanceof ErlMap) return `#{${t.entries.map(([k, v]) => `${formatTerm(k)} => ${formatTerm(v)}`).join(',')}}`;
  if (t instanceof Pid) return `#Pid<${formatAtom(t.node)}.${t.id}.${t.serial}>`;
  if (t instanceof Ref) return `#Ref<${formatAtom(t.node)}.${[...t.ids].reverse().join('.')}>`;
  if (t instanceof Port) return `#Port<${formatAtom(t.node)}.${t.id}>`;
  if (t instanceof ErlExport) return `fun ${formatAtom(t.module)}:${formatAtom(t.function)}/${t.arity}`;
  if (t instanceof ErlFun) return `#Fun<${formatAtom(t.module)}.${t.oldIndex}.${t.oldUniq}>`;
  return String(t);
}
