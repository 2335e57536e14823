// Values that break naive quoting in env files, shells, JSON, YAML and
// Erlang terms. Each one is a plausible password or token.

export const HOSTILE_VALUES: Readonly<Record<string, string>> = {
  doubleQuote: 'pa"ss',
  singleQuote: "pa'ss",
  bothQuotes: `it's "quoted"`,
  allThreeQuotes: 'a\'b"c`d',
  dollar: 'pa$HOME$$ss',
  braces: '${PATH}x',
  commandSubstitution: '$(touch /tmp/pwned)',
  backticks: '`id`',
  backslashes: 'a\\b\\\\c',
  trailingBackslash: 'secret\\',
  onlyBackslash: '\\',
  escapeLookalikes: '\\n\\r\\t\\x{41}\\u0041\\"',
  newline: 'line1\nline2',
  trailingNewline: 'line\n',
  crlf: 'a\r\nb',
  carriageReturn: 'a\rb',
  tab: 'a\tb',
  hash: '#not-a-comment',
  spaceHash: 'x #y',
  equals: 'a=b=c',
  colonSpace: 'key: value',
  yamlIndicators: '- * & ! % @ | > ? { } [ ] ,',
  yamlKeywords: 'null',
  leadingTrailingSpaces: '  padded  ',
  unicode: 'pässwörd-中文-日本',
  emoji: '🔑😀👍🏽',
  lineSeparators: 'a\u2028b\u2029c',
  quotesBeforeSeparators: 'a\'\u2028b"\u2029c`\u2028d',
  nel: 'a\u0085b',
  bom: '\ufeffx',
  nbsp: '\u00a0x\u00a0',
  empty: '',
  erlangTerm: '<<"x">>, ~p ~s %',
  controlChars: '\x01\x07\x1b\x7f\x9f',
};

/** NUL is fine in every format except a shell variable. */
export const NUL_VALUE = 'a\0b';
