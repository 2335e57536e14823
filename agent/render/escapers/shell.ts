// POSIX single quotes: nothing inside is special, so the only character to
// handle is the quote itself ('  ->  '\''). `export X={{s.k}}` then `. file`
// in sh, bash, dash or zsh gives back the exact value.

import { refused, written, type Escaped } from './escaped.ts';

export function escapeShell(value: string): Escaped {
  // A shell variable is a C string: bash drops NUL bytes while reading a script.
  if (value.includes('\0')) return refused('shell variables cannot hold a NUL character');
  return written(`'${value.replaceAll("'", `'\\''`)}'`);
}
