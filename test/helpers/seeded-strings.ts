// Reproducible random strings for property tests: a fixed seed gives the same
// cases on every run, so a failure can be replayed.

export { seededRandom } from './seeded-random.ts';

/** Characters that break file formats: quotes, shell and dotenv specials,
 * escapes, every kind of line break, controls, and multi-byte Unicode. */
export const HOSTILE_ALPHABET: readonly string[] = [
  ...`'"\`$\\#=:-*&!%@{}[]<>|;,~^()? `,
  ...'aZ09/+_.',
  '\n', '\r', '\t', '\v', '\f', '\0', '\x01', '\x1b', '\x7f', '\u0085', '\u00a0',
  '\u2028', '\u2029', '\ufeff', 'é', 'ß', '中', '😀', '🔑',
  '$(id)', '${HOME}', '\\n', '\\r', '\r\n', '<<"', '">>', '": ', '- ', ' #',
];

export function randomString(rand: () => number, alphabet: readonly string[], maxPieces: number): string {
  const n = Math.floor(rand() * (maxPieces + 1));
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(rand() * alphabet.length)];
  return s;
}

/** A value as pure-ASCII JSON, safe inside a TAP test name (raw U+2028 or CR would break the stream). */
export function showValue(v: string): string {
  return JSON.stringify(v).replace(/[^\x20-\x7e]/gu, (c) =>
    [...c].map((ch) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`).join(''),
  );
}
