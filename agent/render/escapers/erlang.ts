// An Erlang binary literal, the form erlmcp reads its settings in
// (`{jwt_secret, <<"...">>}`), not a charlist. The text written is pure
// ASCII: every non-ASCII character is a \x{...} escape inside a /utf8
// segment, so file:consult/1 yields the value's UTF-8 bytes whatever
// encoding the reader assumes for the file.

import { hex, written, type Escaped } from './escaped.ts';

const NAMED: Record<string, string> = { '"': '\\"', "'": "\\'", '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

/** The inside of an Erlang quoted literal ("..." string or '...' atom):
 * printable ASCII stays, the quote and backslash are escaped, everything else
 * is \x{...} (a code point, in strings, atoms and /utf8 segments alike).
 * One regex pass: linear in the value, whatever it holds. */
export function erlangQuotedBody(value: string, quote: '"' | "'"): string {
  const unsafe = quote === '"' ? /[^\x20\x21\x23-\x5b\x5d-\x7e]/gu : /[^\x20-\x26\x28-\x5b\x5d-\x7e]/gu;
  return value.replace(unsafe, (ch) => NAMED[ch] ?? `\\x{${hex(ch.codePointAt(0) ?? 0, 2)}}`);
}

export function erlangBinary(value: string): string {
  // Without /utf8 each character is one byte: right for ASCII, wrong above it.
  const ascii = /^[\x00-\x7f]*$/.test(value);
  const body = erlangQuotedBody(value, '"');
  return ascii ? `<<"${body}">>` : `<<"${body}"/utf8>>`;
}

export function escapeErlang(value: string): Escaped {
  return written(erlangBinary(value));
}
