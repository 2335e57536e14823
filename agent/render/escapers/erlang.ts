// An Erlang binary literal, the form erlmcp reads its settings in
// (`{jwt_secret, <<"...">>}`), not a charlist. The text written is pure
// ASCII: every non-ASCII character is a \x{...} escape inside a /utf8
// segment, so file:consult/1 yields the value's UTF-8 bytes whatever
// encoding the reader assumes for the file.

import { hex, written, type Escaped } from './escaped.ts';

const NAMED: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

export function escapeErlang(value: string): Escaped {
  let body = '';
  let ascii = true;
  for (const ch of value) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp > 0x7f) ascii = false;
    const named = NAMED[ch];
    if (named !== undefined) body += named;
    else if (cp >= 0x20 && cp <= 0x7e) body += ch;
    else body += `\\x{${hex(cp, 2)}}`;
  }
  // Without /utf8 each character is one byte: right for ASCII, wrong above it.
  return written(ascii ? `<<"${body}">>` : `<<"${body}"/utf8>>`);
}
