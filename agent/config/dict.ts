// Maps keyed by names that come from outside (secret, key, provider, template
// and annotation names). A plain object literal answers `constructor`,
// `toString` or `valueOf` from Object.prototype, and assigning `__proto__`
// replaces its prototype instead of adding an entry; an object without a
// prototype has only the entries put into it.

export type Dict<T> = Record<string, T>;

/** an empty map with no prototype, optionally filled from entries */
export function dict<T>(entries: Iterable<readonly [string, T]> = []): Dict<T> {
  const out = Object.create(null) as Dict<T>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** the entry's value when `obj` has it as its own property, never an inherited one */
export function own<T>(obj: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(obj, name) ? obj[name] : undefined;
}

/** Where a parsed document (YAML or JSON) has a key named "__proto__": the
 * schema's maps drop such a key without a word, so a `require` entry or an
 * environment variable by that name would vanish. Paths like `secrets.db.require`. */
export function protoKeyPaths(doc: unknown, at = '', depth = 0, out: string[] = []): string[] {
  if (doc === null || typeof doc !== 'object' || depth > 64 || out.length >= 20) return out;
  if (Array.isArray(doc)) {
    doc.forEach((v, i) => protoKeyPaths(v, `${at}[${i}]`, depth + 1, out));
    return out;
  }
  for (const k of Object.keys(doc)) {
    if (k === '__proto__') out.push(at === '' ? '(top level)' : at);
    protoKeyPaths((doc as Record<string, unknown>)[k], at === '' ? k : `${at}.${k}`, depth + 1, out);
  }
  return out;
}
