// .env secrets files -> key map, by dotenv, refusing the lines dotenv would
// silently drop. The usual such line is the body of a multi-line value left
// unquoted (a PEM key pasted as is): dotenv keeps only its first line as the
// value, and a body line that ends in base64 "=" padding reads as KEY=value,
// turning a slice of the key material into a key NAME, which messages list
// ("the secret has: ..."). Only line numbers are reported, never content.

import dotenv from 'dotenv';
import { AgentError } from '../../errors.ts';
import type { FilePlace } from './file-place.ts';

// What dotenv's default parser (dotenv.parse, dotenv 18) matches as one
// assignment: optional `export`, a key of [\w.-], `=` or `: `, then a quoted
// value (which may span lines) or the rest of the line, then an optional
// comment. Kept equivalent to dotenv's pattern (test/leaks/file-env-fragments
// pins what is kept and what is refused).
const ASSIGNMENT = /^\s*(?:export\s+)?[\w.-]+(?:\s*=\s*?|:\s+?)(?:\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$/gm;
const MAX_LINES_SHOWN = 10;

export function parseEnv(text: string, place: FilePlace): Record<string, string> {
  const body = text.replace(/^\uFEFF/, '');
  const dropped = droppedLines(body.replace(/\r\n?/g, '\n'));
  if (dropped.length > 0) {
    const shown = dropped.slice(0, MAX_LINES_SHOWN).join(', ') + (dropped.length > MAX_LINES_SHOWN ? ` and ${dropped.length - MAX_LINES_SHOWN} more` : '');
    throw new AgentError(
      'validation',
      `${place.display} is not a valid .env file: ${dropped.length === 1 ? 'line' : 'lines'} ${shown} ${dropped.length === 1 ? 'is' : 'are'} not KEY=value, a comment or blank, so dotenv would drop ${dropped.length === 1 ? 'it' : 'them'}; a value that spans lines (a PEM key, say) must be in double quotes`,
      { where: place.abs },
    );
  }
  return dotenv.parse(body);
}

/** 1-based numbers of the lines that hold something outside every assignment */
function droppedLines(text: string): number[] {
  const covered = new Uint8Array(text.length);
  for (const m of text.matchAll(ASSIGNMENT)) covered.fill(1, m.index, m.index + m[0].length);
  const out: number[] = [];
  let start = 0;
  text.split('\n').forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed !== '' && !trimmed.startsWith('#')) {
      for (let k = 0; k < line.length; k++) {
        if (covered[start + k] === 0 && !/\s/.test(line[k]!)) {
          out.push(i + 1);
          break;
        }
      }
    }
    start += line.length + 1;
  });
  return out;
}
