// The keys a config schema accepts at a given path, so that an unknown key can
// be answered with the one the operator probably meant (`secrest` -> `secrets`).

import type * as z from 'zod/mini';
import { editDistance } from '../webhook/did-you-mean.ts';

type Def = { type: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown; valueType?: unknown; element?: unknown; options?: unknown[] };

const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** every key an object schema at `path` (relative to `schema`) accepts; unions give all their branches' keys */
export function knownKeysAt(schema: z.core.$ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  const out = new Set<string>();
  const walk = (s: unknown, rest: ReadonlyArray<PropertyKey>, depth: number): void => {
    const def = defOf(s);
    if (!def || depth > 64) return;
    switch (def.type) {
      case 'object':
        if (rest.length === 0) Object.keys(def.shape ?? {}).forEach((k) => out.add(k));
        else if (def.shape && typeof rest[0] === 'string' && rest[0] in def.shape) walk(def.shape[rest[0]], rest.slice(1), depth + 1);
        return;
      case 'record':
        if (rest.length > 0) walk(def.valueType, rest.slice(1), depth + 1);
        return;
      case 'array':
        if (rest.length > 0) walk(def.element, rest.slice(1), depth + 1);
        return;
      case 'union':
        for (const o of def.options ?? []) walk(o, rest, depth + 1);
        return;
      case 'pipe':
        walk(def.in, rest, depth + 1);
        return;
      default:
        if (def.innerType !== undefined) walk(def.innerType, rest, depth + 1);
    }
  };
  walk(schema, path, 0);
  return [...out];
}

/** the known key a typo most likely meant; short words get less slack, so
 * that `foo` is not answered with `log` */
export function suggestKey(word: string, known: readonly string[]): string | undefined {
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= allowed ? best : undefined;
}
