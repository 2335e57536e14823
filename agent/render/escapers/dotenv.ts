// A complete dotenv value, quotes included: the template writes
// `DB_PASSWORD={{db.password}}`.
//
// The `dotenv` package (both its default and its `fast` parser) has no escape
// for a quote character: inside '...' and `...` nothing is unescaped, inside
// "..." only \n and \r are expanded, and a backslash before a quote is kept
// (but makes the parser look past that quote for the closing one). So a value
// is wrapped in quotes that dotenv is known to read back exactly, preferring,
// in this order:
//
//   1. a quote kind the value does not contain: '...' (literal, and also
//      literal for docker compose env_file; systemd EnvironmentFile agrees
//      unless the value has a backslash, which some systemd versions treat
//      as an escape even inside '...'), then "..." (line feed and CR written
//      as \n and \r), then `...`;
//   2. a quote kind whose every occurrence in the value follows a backslash:
//      dotenv's quoted reading runs to the real closing quote and keeps the
//      backslashes, which are the value's own;
//   3. a quote kind with an inner quote not after a backslash: the quoted
//      reading cannot end there (the line goes on), so dotenv falls back to
//      reading the line bare and strips the outer quotes. Only without "#"
//      (a bare line ends there) and without a raw line break;
//   4. bare, for one line without "#", surrounding whitespace or a leading
//      quote (nor a quoted stretch between U+2028/U+2029 line separators).
//
// Everywhere: '...' and `...` cannot hold a carriage return (dotenv turns
// CR LF and lone CR into LF before parsing); "..." cannot hold a backslash
// followed by n or r (dotenv would expand it); a quote that dotenv may take
// as the closing one must not be followed by U+2028/U+2029 (a line end to
// dotenv); and the value must not end in a backslash unless an inner quote
// stops the reading first (\' at the end reads as "not the end yet" and runs
// on into the next variable).
// A value that fits none of these is refused, e.g. one with ', " and ` (each
// not after a backslash) and a "#" or a line break. Forms 2-4 are
// dotenv-exact; docker compose and systemd read them differently.

import { refused, written, type Escaped } from './escaped.ts';

export const DOTENV_LIMITS =
  'dotenv has no escape for quote characters, so a value with all three kinds of quote (\', " and `) together with "#" or a line break cannot be written, ' +
  'nor can a few rarer combinations (see agent/render/escapers/dotenv.ts)';

type Quote = "'" | '"' | '`';
type Reading = 'whole' | 'stopped' | 'broken';

const QUOTES: readonly Quote[] = ["'", '"', '`'];
// sticky, and tried at a position rather than on a slice: no copy per quote
const SEPARATOR_AHEAD = /\s*[\u2028\u2029]/y;

/** The text between the quotes: only "..." gets \n and \r escapes. */
function body(value: string, q: Quote): string {
  return q === '"' ? value.replaceAll('\n', '\\n').replaceAll('\r', '\\r') : value;
}

/** Whether dotenv's quoted reading of q + b + q ends at the closing quote
 * ('whole'), gives up at an inner quote and falls back to a bare reading
 * ('stopped'), or ends somewhere wrong ('broken'). Both parsers consider the
 * inner quotes after a backslash and the first one not after a backslash. */
function quotedReading(b: string, q: Quote): Reading {
  let endsEarly = false;
  for (let i = b.indexOf(q); i !== -1; i = b.indexOf(q, i + 1)) {
    SEPARATOR_AHEAD.lastIndex = i + 1;
    // linear overall: the whitespace runs after two quotes never overlap
    if (SEPARATOR_AHEAD.test(b)) endsEarly = true;
    if (b[i - 1] !== '\\') return endsEarly ? 'broken' : 'stopped';
  }
  // All inner quotes (if any) are after a backslash: the greedy reading wins
  // at the real closing quote, unless that one looks escaped too.
  return b.endsWith('\\') ? 'broken' : 'whole';
}

function expressible(value: string, q: Quote): boolean {
  return q === '"' ? !/\\[nr]/.test(value) : !value.includes('\r');
}

function wrap(value: string, pass: 1 | 2 | 3): string | undefined {
  for (const q of QUOTES) {
    if (!expressible(value, q)) continue;
    if (pass === 1 && value.includes(q)) continue;
    const b = body(value, q);
    const reading = quotedReading(b, q);
    if (pass < 3 && reading === 'whole') return q + b + q;
    if (pass === 3 && reading === 'stopped' && !b.includes('#') && !/[\r\n]/.test(b)) return q + b + q;
  }
  return undefined;
}

// dotenv strips one pair of matching quotes from each "line" of a bare value
// (/^(['"`])([\s\S]*)\1$/gm), and counts U+2028/U+2029 as line ends there.
// That regex backtracks over the rest of the value at every line start, so it
// is quadratic; stripsQuotes answers "would it change anything" in one pass.
const LINE_ENDS = new Set(['\n', '\r', '\u2028', '\u2029']);

function isQuote(ch: string | undefined): ch is Quote {
  return ch === "'" || ch === '"' || ch === '`';
}

/** Whether some line starts with a quote that occurs again later, right before
 * a line end or the end of the value: exactly when the regex above matches. */
export function stripsQuotes(value: string): boolean {
  const closesLater = new Set<Quote>();
  for (let i = value.length - 1; i >= 0; i--) {
    const ch = value[i];
    if (!isQuote(ch)) continue;
    if ((i === 0 || LINE_ENDS.has(value[i - 1]!)) && closesLater.has(ch)) return true;
    if (i === value.length - 1 || LINE_ENDS.has(value[i + 1]!)) closesLater.add(ch);
  }
  return false;
}

function fitsBare(value: string): boolean {
  return (
    value !== '' &&
    !/[#\r\n]/.test(value) &&
    !/^\s|\s$/.test(value) && // dotenv trims JavaScript whitespace from bare values
    !isQuote(value[0]) &&
    !stripsQuotes(value)
  );
}

export function escapeDotenv(value: string): Escaped {
  const text = wrap(value, 1) ?? wrap(value, 2) ?? wrap(value, 3) ?? (fitsBare(value) ? value : undefined);
  return text === undefined ? refused(DOTENV_LIMITS) : written(text);
}
