// The parsed content of a .json/.yaml file, and how a map in it becomes a
// secret's key -> value strings. Secrets are strings, so a number must reach
// the template exactly as it was written: `pin: 012345` is "012345" (not
// "12345"), a 20-digit account id keeps all its digits, `1e3` stays "1e3".
// Parsers therefore hand numbers over as Literal (written text + value).

export class Literal {
  /** the scalar as written in the file */
  readonly text: string;
  /** the parsed value, used when the scalar sits inside a nested value that is re-serialised as JSON */
  readonly value: number | bigint;
  constructor(text: string, value: number | bigint) {
    this.text = text;
    this.value = value;
  }
}

export type Tree = string | boolean | null | Literal | Tree[] | TreeMap;
export interface TreeMap {
  [key: string]: Tree;
}

export function isTreeMap(t: Tree | undefined): t is TreeMap {
  return typeof t === 'object' && t !== null && !Array.isArray(t) && !(t instanceof Literal);
}

/**
 * A map's entries as secret data:
 * - strings as they are; numbers as written; booleans "true"/"false";
 * - null (YAML `key:` or `key: ~`, JSON null) is "" so that `require` reports the key as empty;
 * - nested maps and lists as JSON text (a service-account JSON kept as a map, say).
 */
export function keyMapOf(map: TreeMap): Record<string, string> {
  // fromEntries defines own properties: a key named "__proto__" stays a key
  return Object.fromEntries(Object.entries(map).map(([key, v]) => [key, leafText(v)]));
}

function leafText(v: Tree): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Literal) return v.text;
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof Literal ? (typeof x.value === 'bigint' ? Number(x.value) : x.value) : x));
}

/** what a Tree node is, for messages ("is a list, not a map of key -> value") */
export function kindOf(t: Tree | undefined): string {
  if (t === undefined) return 'absent';
  if (t === null) return 'empty';
  if (Array.isArray(t)) return 'a list';
  if (t instanceof Literal) return 'a number';
  if (typeof t === 'object') return 'a map';
  return typeof t === 'string' ? 'a string' : 'a boolean';
}

export type Selection =
  | { ok: true; map: TreeMap }
  | { ok: false; reason: 'absent'; at: string }
  | { ok: false; reason: 'not-a-map'; at: string; kind: string };

/** follows a dotted path of map keys from the top of the file */
export function selectMap(root: TreeMap, path: string[]): Selection {
  let node: Tree | undefined = root;
  for (const [i, segment] of path.entries()) {
    const at = path.slice(0, i + 1).join('.');
    if (!isTreeMap(node)) return { ok: false, reason: 'not-a-map', at: path.slice(0, i).join('.'), kind: kindOf(node) };
    node = Object.hasOwn(node, segment) ? node[segment] : undefined;
    if (node === undefined) return { ok: false, reason: 'absent', at };
  }
  if (!isTreeMap(node)) return { ok: false, reason: 'not-a-map', at: path.join('.'), kind: kindOf(node) };
  return { ok: true, map: node };
}
