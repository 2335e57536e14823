// Finds a // or /* comment in a config written as JSON (text that opens with
// { or [). Operators copy JSON from editors that allow comments (JSONC); YAML
// would take the comment as part of a key.

/** 1-based line and column of the first comment outside strings, if any */
export function jsonCommentAt(text: string): { line: number; col: number } | undefined {
  const start = text.search(/\S/);
  if (start === -1 || (text[start] !== '{' && text[start] !== '[')) return undefined;
  let quote: string | undefined;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = i + 1;
      continue;
    }
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '/' && (text[i + 1] === '/' || text[i + 1] === '*')) {
      // a comment starts a token; `http://x` (a YAML flow plain scalar) does not
      const before = i === 0 ? ' ' : text[i - 1]!;
      if (/[\s{}[\],]/.test(before)) return { line, col: i - lineStart + 1 };
    }
  }
  return undefined;
}
