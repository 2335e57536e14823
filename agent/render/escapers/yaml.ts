// A YAML double-quoted scalar on one line. Everything outside YAML's
// printable set, plus the line and paragraph separators and the BOM, is
// written as an escape, so leading spaces, ": ", "#", "- ", "*", "&", "!",
// "%", "@", backticks, newlines and NUL all come back unchanged, in block or
// flow context, at any indentation.

import { hex, written, type Escaped } from './escaped.ts';

const NAMED: Record<string, string> = {
  '\\': '\\\\',
  '"': '\\"',
  '\0': '\\0',
  '\x07': '\\a',
  '\b': '\\b',
  '\t': '\\t',
  '\n': '\\n',
  '\v': '\\v',
  '\f': '\\f',
  '\r': '\\r',
  '\x1b': '\\e',
  '\u0085': '\\N',
  '\u00a0': '\\_',
  '\u2028': '\\L',
  '\u2029': '\\P',
};

// Everything but YAML's printable set (x20-x7E, xA1-uD7FF, uE000-uFFFD
// without the BOM, astral), and the named characters inside that set. One
// regex pass: linear in the value, whatever it holds.
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e\xa1-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\u{10000}-\u{10ffff}]/gu;

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  const cp = ch.codePointAt(0) ?? 0;
  return cp <= 0xff ? `\\x${hex(cp, 2)}` : `\\u${hex(cp, 4)}`;
}

export function escapeYaml(value: string): Escaped {
  return written(`"${value.replace(NEEDS_ESCAPE, escapeOne)}"`);
}
