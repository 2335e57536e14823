// JSON secrets files -> Tree, numbers kept as written (see tree.ts).

import { AgentError } from '../../errors.ts';
import { MAX_VALUE_DEPTH, nestedDeeperThan } from '../key-map.ts';
import { jsonErrorOffset, positionOf } from './json-error-position.ts';
import { Literal, type Tree } from './tree.ts';
import type { FilePlace } from './file-place.ts';

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

export function parseJson(text: string, place: FilePlace): Tree {
  // Node >= 21 passes the source text of primitives to the reviver
  const keepNumberText: Reviver = (_key, value, context) =>
    typeof value === 'number' ? new Literal(context?.source ?? String(value), value) : value;
  let tree: Tree;
  try {
    tree = JSON.parse(text, keepNumberText as (this: unknown, key: string, value: unknown) => unknown) as Tree;
  } catch (e) {
    // the reviver recurses: a file nested some thousands deep overflows it
    if (e instanceof RangeError) throw tooDeep(place);
    // the parser's message quotes the file: report only where it broke
    throw new AgentError('validation', `${place.display} is not valid JSON (${where(text)}); fix the file, the agent reads it again on the next refresh`, {
      where: place.abs,
    });
  }
  // the same bound as YAML files and backend answers (key-map.ts); a number's
  // Literal is one object level more than the number it stands for
  if (nestedDeeperThan(tree, MAX_VALUE_DEPTH + 1)) throw tooDeep(place);
  return tree;
}

function tooDeep(place: FilePlace): AgentError {
  return new AgentError('validation', `${place.display} is nested more than ${MAX_VALUE_DEPTH} levels deep, which no secret is; fix the file, the agent reads it again on the next refresh`, {
    where: place.abs,
  });
}

function where(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return 'nested too deeply to locate the error';
  if (offset === -1) return 'rejected by the JSON parser';
  if (offset >= text.length) return 'it ends too early';
  const { line, column } = positionOf(text, offset);
  return `line ${line}, column ${column}`;
}
