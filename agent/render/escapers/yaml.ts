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

function printable(cp: number): boolean {
  return (
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa1 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    cp >= 0x10000
  );
}

export function escapeYaml(value: string): Escaped {
  let out = '"';
  for (const ch of value) {
    const named = NAMED[ch];
    const cp = ch.codePointAt(0) ?? 0;
    if (named !== undefined) out += named;
    else if (printable(cp)) out += ch;
    else out += cp <= 0xff ? `\\x${hex(cp, 2)}` : `\\u${hex(cp, 4)}`;
  }
  return written(`${out}"`);
}
