// Turns zod issues into operator-facing lines: "<file>: <config.path>: <message>".

import type * as z from 'zod/mini';

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

export function issueLines(error: z.core.$ZodError, prefix: ReadonlyArray<PropertyKey> = []): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // one line per key, at the key's own path: `secrets.db.pth: unknown key`
      return issue.keys.map((k) => `${formatPath([...prefix, ...issue.path, k])}: unknown key`);
    }
    const path = formatPath([...prefix, ...issue.path]);
    return path === '' ? issue.message : `${path}: ${describeIssue(issue)}`;
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `required (expected ${issue.expected})`;
  }
  return issue.message;
}
