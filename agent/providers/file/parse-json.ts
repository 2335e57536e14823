// JSON secrets files -> Tree, numbers kept as written (see tree.ts).

import { AgentError } from '../../errors.ts';
import { jsonErrorOffset, positionOf } from './json-error-position.ts';
import { Literal, type Tree } from './tree.ts';
import type { FilePlace } from './file-place.ts';

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

export function parseJson(text: string, place: FilePlace): Tree {
  // Node >= 21 passes the source text of primitives to the reviver
  const keepNumberText: Reviver = (_key, value, context) =>
    typeof value === 'number' ? new Literal(context?.source ?? String(value), value) : value;
  try {
    return JSON.parse(text, keepNumberText as (this: unknown, key: string, value: unknown) => unknown) as Tree;
  } catch {
    // the parser's message quotes the file: report only where it broke
    throw new AgentError('validation', `${place.display} is not valid JSON (${where(text)}); fix the file, the agent reads it again on the next refresh`, {
      where: place.abs,
    });
  }
}

function where(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return 'nested too deeply to locate the error';
  if (offset === -1) return 'rejected by the JSON parser';
  if (offset >= text.length) return 'it ends too early';
  const { line, column } = positionOf(text, offset);
  return `line ${line}, column ${column}`;
}
