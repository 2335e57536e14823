// Turns zod issues into operator-facing lines: "<file>: <config.path>: <message>".

import type * as z from 'zod/mini';
import { knownKeysAt, suggestKey } from './known-keys.ts';

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** `schema`: the one that produced `error`, to suggest a known key for an
 * unknown one; `alsoKnown`: keys taken off the input before it was parsed */
export function issueLines(error: z.core.$ZodError, prefix: ReadonlyArray<PropertyKey> = [], schema?: z.core.$ZodType, alsoKnown: readonly string[] = []): string[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // one line per key, at the key's own path: `secrets.db.pth: unknown key`
      const known = [...(schema ? knownKeysAt(schema, issue.path) : []), ...(issue.path.length === 0 ? alsoKnown : [])];
      return issue.keys.map((k) => {
        const guess = suggestKey(k, known);
        return `${formatPath([...prefix, ...issue.path, k])}: unknown key${guess ? `; did you mean ${guess}?` : ''}`;
      });
    }
    const path = formatPath([...prefix, ...issue.path]);
    if (issue.code === 'invalid_union') {
      const lines = unionLines(issue, [...prefix, ...issue.path]);
      if (lines) return lines;
    }
    return path === '' ? issue.message : `${path}: ${describeIssue(issue)}`;
  });
}

/** zod's own text for a value that fits no branch of a union is "Invalid
 * input", which hides what is wrong (a bad regex inside a rule, a missing
 * duration). A branch that accepted the value's type says what is wrong
 * inside it; when none did, the line names the types that would do. */
function unionLines(issue: z.core.$ZodIssueInvalidUnion, at: ReadonlyArray<PropertyKey>): string[] | undefined {
  const branches = issue.errors;
  if (branches.length === 0) return undefined;
  const wrongType = (b: z.core.$ZodIssue[]) => b.length === 1 && b[0]!.code === 'invalid_type' && b[0]!.path.length === 0;
  const fitting = branches.filter((b) => !wrongType(b));
  if (fitting.length > 0) {
    // the branch that got furthest into the value is the one the operator meant
    const depth = (b: z.core.$ZodIssue[]) => Math.max(...b.map((i) => i.path.length));
    const best = fitting.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    return issueLines({ issues: best } as z.core.$ZodError, at);
  }
  // in a config's words: YAML has maps and lists, not records and arrays
  const word = (t: string) => ({ record: 'map', object: 'map', array: 'list' })[t] ?? t;
  const expected = [...new Set(branches.map((b) => word((b[0] as z.core.$ZodIssueInvalidType).expected)))];
  const received = /received (\w+)/.exec(branches[0]![0]!.message)?.[1];
  const path = formatPath(at);
  const text = received === 'undefined' ? `required (expected ${expected.join(' or ')})` : `expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}`;
  return [path === '' ? text : `${path}: ${text}`];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    return `required (expected ${issue.expected})`;
  }
  return issue.message;
}
