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
