// Text a peer chose (a node name from the handshake, EPMD's list of names, a
// status string) on its way into an operator message: terminals and log
// viewers must see characters, not act on them. Control characters (C0, DEL,
// C1), line and paragraph separators and bidirectional overrides become
// \x{..} escapes, and the text is cut so a 64 KiB name cannot flood a line.

const DEFAULT_MAX_CHARS = 100;

/** zero-width, bidi-override and line/paragraph-separator characters: they reorder or hide what a terminal shows */
export function isInvisibleControl(cp: number): boolean {
  return (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0xfeff;
}

/** C0, DEL and C1: what starts terminal escape sequences and line breaks */
export function isControl(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/** `text` with unsafe characters escaped and cut to `maxChars` characters (plus a note of how many more) */
export function peerText(text: string, maxChars = DEFAULT_MAX_CHARS): string {
  const chars = [...text];
  let out = '';
  for (const c of chars.slice(0, maxChars)) {
    const cp = c.codePointAt(0) as number;
    out += c === '\\' ? '\\\\' : isControl(cp) || isInvisibleControl(cp) ? `\\x{${cp.toString(16)}}` : c;
  }
  return chars.length > maxChars ? `${out}...(${chars.length - maxChars} more characters)` : out;
}
