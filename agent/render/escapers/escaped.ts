// What an escaper returns: the text to write, or why the value cannot be
// written in that format. The reason states the format's rule and never
// quotes the value (the caller adds which secret.key it is).

export type Escaped = { ok: true; text: string } | { ok: false; reason: string };

export function written(text: string): Escaped {
  return { ok: true, text };
}

export function refused(reason: string): Escaped {
  return { ok: false, reason };
}

export function hex(codePoint: number, width: number): string {
  return codePoint.toString(16).toUpperCase().padStart(width, '0');
}
