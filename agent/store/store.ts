// The latest good value of every secret, and which templates use which
// secrets, so a change re-renders only what depends on it.

import type { SecretValue } from '../providers/provider.ts';
import { registerSecretData } from '../log/secret-registry.ts';

export interface StoreEntry {
  value: SecretValue;
  /** epoch ms of the last successful fetch or check */
  freshAt: number;
}

export class SecretStore {
  readonly #entries = new Map<string, StoreEntry>();

  /** stores a value; returns true when its data differs from what was stored */
  set(name: string, value: SecretValue, at: number): boolean {
    registerSecretData(value.data);
    const before = this.#entries.get(name);
    this.#entries.set(name, { value, freshAt: at });
    return !before || !sameData(before.value.data, value.data);
  }

  /** a check found the value unchanged: only the freshness moves */
  touch(name: string, at: number): void {
    const e = this.#entries.get(name);
    if (e) e.freshAt = at;
  }

  get(name: string): StoreEntry | undefined {
    return this.#entries.get(name);
  }

  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** name -> value, in the order they were first stored */
  values(): Array<[string, SecretValue]> {
    return [...this.#entries].map(([name, e]) => [name, e.value]);
  }

  /** the template context: secret name -> key -> value */
  templateData(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [name, e] of this.#entries) out[name] = e.value.data;
    return out;
  }
}

export function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** secret name -> indexes of templates that reference it */
export function dependencyIndex(refsByTemplate: ReadonlyArray<{ index: number; secrets: Iterable<string> }>): Map<string, Set<number>> {
  const index = new Map<string, Set<number>>();
  for (const t of refsByTemplate) {
    for (const s of t.secrets) {
      let set = index.get(s);
      if (!set) index.set(s, (set = new Set()));
      set.add(t.index);
    }
  }
  return index;
}
