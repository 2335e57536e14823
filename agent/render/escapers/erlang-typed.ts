// Typed Erlang terms for the erl.* sections: erl.integer writes a decimal
// integer, erl.atom a quoted atom, erl.string a char list, erl.binary the
// same binary as the plain `erlang` escape. Every form is either checked
// digits or a quoted literal with every quote, backslash and non-printable
// character escaped, so no value can end the term early.

import type { ErlType } from '../template.ts';
import { erlangBinary, erlangQuotedBody } from './erlang.ts';
import { refused, written, type Escaped } from './escaped.ts';

/** Erlang's own limit on atom length, in characters */
export const MAX_ATOM_CHARS = 255;
/** far above any port or count, and keeps a bignum from a 32 MiB value out of the file */
export const MAX_INTEGER_DIGITS = 64;

const DECIMAL = /^-?[0-9]+$/;

export function erlangTerm(value: string, type: ErlType): Escaped {
  if (!value.isWellFormed()) return refused('it is not well-formed Unicode (it has a lone UTF-16 surrogate), so it cannot be written as UTF-8');
  switch (type) {
    case 'integer':
      if (!DECIMAL.test(value)) return refused('erl.integer needs a decimal integer: digits, optionally after "-", with no spaces, "+", decimal point or line break');
      if (value.replace('-', '').length > MAX_INTEGER_DIGITS) return refused(`erl.integer takes at most ${MAX_INTEGER_DIGITS} digits`);
      return written(value);
    case 'atom':
      // a character is at most two UTF-16 units: only count when it could matter
      if (value.length > MAX_ATOM_CHARS && [...value].length > MAX_ATOM_CHARS) return refused(`an Erlang atom has at most ${MAX_ATOM_CHARS} characters`);
      return written(`'${erlangQuotedBody(value, "'")}'`);
    case 'string':
      return written(`"${erlangQuotedBody(value, '"')}"`);
    case 'binary':
      return written(erlangBinary(value));
  }
}
