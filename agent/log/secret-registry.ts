// Second line of defence: every secret value the agent has seen is registered
// here, and every log line is scrubbed of them before it is written. The first
// line is that no code passes a value to the logger at all.

// Shorter values (a port, "erlmcp" as a user name) would blank out ordinary
// words and paths in every log line. Short values are still never logged by
// the code itself; this is only the net under it.
const MIN_LENGTH = 8;

const known = new Set<string>();
/** longest first, so a value that contains another is replaced whole */
let ordered: string[] | undefined;

export function registerSecretValue(value: string): void {
  if (value.length < MIN_LENGTH || known.has(value)) return;
  known.add(value);
  // JSON-escaped forms too: log lines are JSON, so a value with a quote or
  // newline appears escaped in the output.
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) known.add(escaped);
  ordered = undefined;
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
