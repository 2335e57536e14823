// What the `erlang` notifier may show of a term that came back from the node
// (a {badrpc, Reason} or a result that did not match `expect`). The node's
// reload code has just read the rendered secrets, so any text inside such a
// term may be one of them (a {badmatch, <<"hunter2...">>} crash). Structure,
// atoms and numbers are kept because they carry the diagnosis (`{error,enoent}`,
// `undef`, `{'EXIT',{badarg,...}}`); binaries and strings are replaced by their
// size (the characters before an improper tail too); the arguments in stack
// frames (M, F, Args, Location) by their count.

import { redactStackArgs } from '../erldist/rpc-reason.ts';
import { formatTerm } from '../erldist/format.ts';
import { atom, BitBinary, ErlMap, ImproperList, Tuple, type Term } from '../erldist/terms.ts';

const MAX_CHARS = 600;

function isCharList(t: Term[]): boolean {
  return t.length > 0 && t.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 0x10ffff);
}

export function redactTermText(t: Term): Term {
  if (typeof t === 'string') return atom(`<${Buffer.byteLength(t, 'utf8')}-byte binary>`);
  if (t instanceof Uint8Array) return atom(`<${t.length}-byte binary>`);
  if (t instanceof BitBinary) return atom(`<${t.bytes.length}-byte bitstring>`);
  if (Array.isArray(t)) return isCharList(t) ? atom(`<${t.length}-character string>`) : t.map(redactTermText);
  if (t instanceof ImproperList) {
    // "text" ++ Tail: the characters are text like any string's
    const head = isCharList(t.elements) ? [atom(`<${t.elements.length}-character string>`)] : t.elements.map(redactTermText);
    return new ImproperList(head, redactTermText(t.tail));
  }
  if (t instanceof Tuple) return new Tuple(t.elements.map(redactTermText));
  if (t instanceof ErlMap) return new ErlMap(t.entries.map(([k, v]) => [redactTermText(k), redactTermText(v)]));
  return t;
}

/** a node's term, for a log line: no text from inside it, cut to a readable length */
export function describeNodeTerm(t: Term): string {
  const text = formatTerm(redactTermText(redactStackArgs(t)));
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}...` : text;
}
