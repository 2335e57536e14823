// YAML secrets files -> Tree. We walk the document's nodes instead of
// calling toJS() so that a plain scalar that YAML would read as a number or
// boolean keeps the text it was written as (see tree.ts). Parser messages
// quote the file, so only the error's code and position are reported.

import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { AgentError } from '../../errors.ts';
import { Literal, type Tree, type TreeMap } from './tree.ts';
import type { FilePlace } from './file-place.ts';

/** limits against alias bombs ("billion laughs") and self-referencing anchors */
const MAX_ALIAS_EXPANSIONS = 1000;
const MAX_DEPTH = 64;

export function parseYaml(text: string, place: FilePlace): Tree {
  const doc = parseDocument(text, { uniqueKeys: true }) // prettyErrors (default) computes linePos; its message, which quotes the file, is never used;
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const at = pos ? `line ${pos.line}, column ${pos.col}` : 'position unknown';
    throw invalid(place, `${at}: ${first.code}`);
  }
  const budget = { aliases: MAX_ALIAS_EXPANSIONS };
  return fromNode(doc.contents, doc, 0, budget, place);
}

function fromNode(node: unknown, doc: Document, depth: number, budget: { aliases: number }, place: FilePlace): Tree {
  if (depth > MAX_DEPTH) throw invalid(place, `nested more than ${MAX_DEPTH} levels deep`);
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    if (--budget.aliases < 0) throw invalid(place, `more than ${MAX_ALIAS_EXPANSIONS} alias expansions`);
    const target = node.resolve(doc);
    // the parser reports no error for it: the value would silently be ""
    if (target === undefined) throw invalid(place, 'an alias (*name) refers to no anchor (&name) before it');
    return fromNode(target, doc, depth + 1, budget, place);
  }
  if (isMap(node)) {
    const out: TreeMap = {};
    for (const pair of node.items) {
      const key = fromNode(pair.key, doc, depth + 1, budget, place);
      if (typeof key !== 'string' && !(key instanceof Literal) && typeof key !== 'boolean') {
        throw invalid(place, 'a map key is not a plain scalar');
      }
      // defineProperty: a key named "__proto__" must stay a key, not replace the prototype
      Object.defineProperty(out, key instanceof Literal ? key.text : String(key), {
        value: fromNode(pair.value, doc, depth + 1, budget, place),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((item) => fromNode(item, doc, depth + 1, budget, place));
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'bigint') return new Literal(node.source ?? String(v), v);
    if (typeof v === 'boolean') return node.source !== undefined && node.source !== String(v) ? node.source : v;
    return String(v);
  }
  throw invalid(place, 'it holds a node type the agent does not understand');
}

function invalid(place: FilePlace, detail: string): AgentError {
  return new AgentError('validation', `${place.display} is not valid YAML (${detail}); fix the file, the agent reads it again on the next refresh`, {
    where: place.abs,
  });
}
