// Second line of defence: every secret value the agent has seen is registered
// here, and every log line is scrubbed of them before it is written. The first
// line is that no code passes a value to the logger at all.

import { escapedText } from '../erldist/format.ts';

// Shorter values (a port, "erlmcp" as a user name) would blank out ordinary
// words and paths in every log line. Short values are still never logged by
// the code itself; this is only the net under it.
const MIN_LENGTH = 8;

const known = new Set<string>();
/** longest first, so a value that contains another is replaced whole */
let ordered: string[] | undefined;

export function registerSecretValue(value: string): void {
  if (value.length < MIN_LENGTH || known.has(value)) return;
  for (const form of printedForms(value)) {
    known.add(form);
    // JSON-escaped forms too: log lines are JSON, so a value with a quote or
    // newline appears escaped in the output.
    known.add(JSON.stringify(form).slice(1, -1));
  }
  ordered = undefined;
}

/**
 * Every way the agent itself may print the value: as is, and the ways it
 * prints an Erlang term a node sent back (erldist/format.ts), which is where
 * a value can come back inside an atom or as character codes: between the
 * quotes of an atom or a string, and as the code points of a char list or the
 * UTF-8 bytes of a binary (`[104,117,...|T]`, `<<104,117,...>>`).
 */
function printedForms(value: string): Set<string> {
  const codePoints = [...value].map((c) => c.codePointAt(0) as number);
  return new Set([
    value,
    escapedText(value, "'"),
    escapedText(value, '"'),
    codePoints.join(','),
    [...Buffer.from(value, 'utf8')].join(','),
  ]);
}

export function registerSecretData(data: Record<string, string>): void {
  for (const v of Object.values(data)) registerSecretValue(v);
}

// Plain substring replacement, not one RegExp of all values: V8 refuses to
// compile a pattern past a size limit (a 32 KiB PEM bundle is enough) with a
// SyntaxError that quotes the pattern, i.e. every secret value.
export function scrub(text: string): string {
  if (known.size === 0) return text;
  ordered ??= [...known].sort((a, b) => b.length - a.length);
  let out = text;
  for (const v of ordered) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
  return out;
}

/** for tests only */
export function forgetSecretValues(): void {
  known.clear();
  ordered = undefined;
}
