// Turning {badrpc, Reason} into an operator message. Stack traces carry the
// arguments of the failing call ({M, F, Args, Location}), and those arguments
// may be secrets the agent passed in: they are replaced by their count, the
// way Erlang itself prints M:F/Arity, before anything reaches a message.

import { formatTerm } from './format.ts';
import { Atom, ErlMap, ImproperList, Tuple, type Term } from './terms.ts';

const MAX_REASON_CHARS = 2000;

function isStackFrame(t: Tuple): boolean {
  const [m, f, args, loc] = t.elements;
  return t.elements.length === 4 && m instanceof Atom && f instanceof Atom && Array.isArray(args) && Array.isArray(loc);
}

export function redactStackArgs(t: Term): Term {
  if (t instanceof Tuple) {
    if (isStackFrame(t)) {
      const [m, f, args, loc] = t.elements as [Term, Term, Term[], Term];
      return new Tuple([m, f, args.length, redactStackArgs(loc)]);
    }
    return new Tuple(t.elements.map(redactStackArgs));
  }
  if (Array.isArray(t)) return t.map(redactStackArgs);
  if (t instanceof ImproperList) return new ImproperList(t.elements.map(redactStackArgs), redactStackArgs(t.tail));
  if (t instanceof ErlMap) return new ErlMap(t.entries.map(([k, v]) => [redactStackArgs(k), redactStackArgs(v)]));
  return t;
}

export function formatRpcReason(reason: Term): string {
  const text = formatTerm(redactStackArgs(reason));
  return text.length > MAX_REASON_CHARS ? `${text.slice(0, MAX_REASON_CHARS)}...` : text;
}
