// Asserts that no secret value (nor a distinctive slice of it) shows up in
// text the operator sees: messages, logs, reports.

import type { Test } from 'tap';

/** every window of `size` characters of value (values shorter than size: the value itself) */
export function slicesOf(value: string, size = 8): string[] {
  if (value.length <= size) return [value];
  const out: string[] = [];
  for (let i = 0; i + size <= value.length; i++) out.push(value.slice(i, i + size));
  return out;
}

export function assertNoLeak(t: Test, texts: string | string[], secrets: string[], sliceSize = 8): void {
  const haystack = (Array.isArray(texts) ? texts : [texts]).join('\n');
  const leaked = secrets.flatMap((s) => slicesOf(s, sliceSize)).filter((slice) => haystack.includes(slice));
  t.same(leaked, [], 'no part of a secret value appears in the output');
}
