// The `text` log format: pino's JSON line turned into one line a person reads
// on a terminal,
//   2026-12-03T16:52:14.123Z ERROR init failed (exit 3) code=missing
//     - secret db: key "password" is missing
// Fields go as key=value (quoted when they hold spaces), a `problems` list as
// indented lines under the message, an error as its type and message. It
// formats the line pino already scrubbed of secret values; the caller scrubs
// the text again, since unescaping JSON can turn an escaped value back into
// the raw one.

/** fields every line has, or that the text layout shows in its own place
 * (and a `problems` list; a count, as the webhook logs, stays a field) */
const LAYOUT_KEYS = new Set(['level', 'time', 'msg', 'app', 'pid', 'hostname']);

/** `clean` is applied to every string in the line before it is escaped for
 * display (the secret scrubber: after escaping it would no longer match) */
export function jsonLineToText(line: string, clean: (s: string) => string = (s) => s): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return clean(line);
    rec = mapStrings(parsed, clean) as Record<string, unknown>;
  } catch {
    return clean(line);
  }
  const level = typeof rec.level === 'string' ? rec.level.toUpperCase() : String(rec.level ?? '');
  const head = [typeof rec.time === 'string' ? rec.time : undefined, level.padEnd(5), typeof rec.msg === 'string' ? oneLine(rec.msg) : undefined].filter((p) => p !== undefined);
  const fields = Object.entries(rec)
    .filter(([k, v]) => !LAYOUT_KEYS.has(k) && v !== undefined && !(k === 'problems' && Array.isArray(v)))
    .map(([k, v]) => `${k}=${fieldValue(k, v)}`);
  const problems = Array.isArray(rec.problems) ? rec.problems.map((p) => `\n  - ${oneLine(String(p))}`).join('') : '';
  return `${[...head, ...fields].join(' ')}${problems}\n`;
}

function mapStrings(v: unknown, f: (s: string) => string): unknown {
  if (typeof v === 'string') return f(v);
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [f(k), mapStrings(x, f)]));
  return v;
}

function fieldValue(key: string, v: unknown): string {
  if (key === 'err' && v !== null && typeof v === 'object') {
    const e = v as { type?: unknown; message?: unknown; code?: unknown };
    return quoteIfNeeded(`${String(e.type ?? 'Error')}${e.code !== undefined ? ` (${String(e.code)})` : ''}: ${String(e.message ?? '')}`);
  }
  if (typeof v === 'string') return quoteIfNeeded(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}

/** a value with spaces, quotes or control characters is shown as a JSON string, so a field cannot fake another */
function quoteIfNeeded(s: string): string {
  return s === '' || /[\s"=\\\u0000-\u001f\u007f-\u009f]/.test(s) ? oneLine(JSON.stringify(s)) : s;
}

/** a message is one line of plain text: a newline would let it fake further
 * lines, an escape sequence would reach the terminal */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\t' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}
