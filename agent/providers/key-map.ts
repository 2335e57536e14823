// How a backend's structured value becomes the key map templates see, the
// same for every backend: string members stay as they are, anything else is
// JSON text (a port 5432 renders as "5432", a nested object as its JSON).
// Pure; bundled into each provider chunk that uses it.
//
// JSON.parse takes any depth, but JSON.stringify recurses: a value nested
// 200k deep in a backend's answer would end the agent with a RangeError. No
// credential is nested that deep, so a value deeper than MAX_VALUE_DEPTH is
// refused as what it is: an answer that is not a secret.

import { AgentError } from '../errors.ts';

/** the deepest nesting a secret's value may have (the YAML file parser's bound too) */
export const MAX_VALUE_DEPTH = 64;

/** true when v has objects or lists nested deeper than max; iterative, so no
 * depth of input can exhaust the stack, and it stops at the first too-deep node */
export function nestedDeeperThan(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

/** @param what names the answer in the error, e.g. `vault database/creds/app` */
export function toKeyMap(obj: Record<string, unknown>, what = 'the backend'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (typeof v === 'string') {
      out[k] = v;
      continue;
    }
    if (nestedDeeperThan(v, MAX_VALUE_DEPTH - 1)) {
      throw new AgentError(
        'validation',
        `${what} answered key "${k}" with a value nested more than ${MAX_VALUE_DEPTH} levels deep: that is not a secret (a broken or hostile backend, or the wrong path); the value is refused`,
      );
    }
    out[k] = JSON.stringify(v);
  }
  return out;
}

/** the object in `text`, or undefined when the text is not a JSON object */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  // cheap pre-check: most plain secrets are not JSON, and JSON.parse of a
  // large non-JSON string would throw only after scanning it
  if (!text.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
