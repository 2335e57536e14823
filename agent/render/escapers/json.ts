// A JSON string literal with its quotes. JSON.stringify escapes quotes,
// backslashes and C0 controls; DEL, the C1 controls and U+2028/U+2029 are
// valid JSON as they are but are escaped too, so the file survives being
// embedded in JavaScript or shown in a terminal.

import { hex, written, type Escaped } from './escaped.ts';

/** Any JSON value as text, with the extra escapes above. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}

export function escapeJson(value: string): Escaped {
  return written(jsonText(value));
}
