// A complete dotenv value, quotes included: the template writes
// `DB_PASSWORD={{db.password}}`.
//
// The `dotenv` package (both its default and its `fast` parser) has no escape
// for a quote character: inside '...' and `...` nothing is unescaped, inside
// "..." only \n and \r are expanded, and a backslash before any quote is kept.
// So the value must be wrapped in a quote kind it does not contain, chosen in
// this order:
//   1. '...'  literal; also literal for docker compose env_file and systemd
//             EnvironmentFile. Not for values with ' or a carriage return
//             (dotenv turns CR LF and lone CR into LF before parsing).
//   2. "..."  newline and CR written as \n and \r. Not for values with " or
//             with a backslash followed by n or r (dotenv would expand it).
//             compose interpolates $VAR and systemd unescapes \ inside "...".
//   3. `...`  literal for dotenv only; not for values with ` or CR.
//   4. bare   for a one-line value without #, surrounding whitespace or a
//             leading quote. dotenv-exact; compose and systemd may differ.
// A value that ends in a backslash is never quoted: dotenv reads \' (\", \`)
// as "not the end yet" and, depending on the lines that follow, can run on
// into the next variable. It is written bare when it can be.
// Anything else (e.g. a value with all of ' " ` and a # or a line break, or a
// multi-line value ending in a backslash) is refused.

import { refused, written, type Escaped } from './escaped.ts';

export const DOTENV_LIMITS =
  'dotenv has no escape for quote characters, so a value is written inside a quote kind it does not contain, or bare when it is one line without "#", ' +
  'surrounding whitespace or a leading quote; a value fitting neither (or a multi-line value ending in a backslash) cannot be written';

const QUOTES = `'"\``;

export function escapeDotenv(value: string): Escaped {
  if (!value.endsWith('\\')) {
    if (!value.includes("'") && !value.includes('\r')) return written(`'${value}'`);
    if (!value.includes('"') && !/\\[nr]/.test(value)) return written(`"${value.replaceAll('\n', '\\n').replaceAll('\r', '\\r')}"`);
    if (!value.includes('`') && !value.includes('\r')) return written(`\`${value}\``);
  }
  if (fitsBare(value)) return written(value);
  return refused(DOTENV_LIMITS);
}

function fitsBare(value: string): boolean {
  return (
    value !== '' &&
    !/[#\r\n\u2028\u2029]/.test(value) && // dotenv's comment start and line ends (the fast parser counts U+2028/9)
    !/^\s|\s$/.test(value) && // dotenv trims JavaScript whitespace from bare values
    !QUOTES.includes(value[0] ?? '')
  );
}
