// The call-string parser and the term formatter: what they accept, what they
// refuse (with the position), and that formatting then parsing any literal
// term gives the same term back.

import t from 'tap';
import { parseErlangCall, parseErlangTerm } from '../../agent/erldist/call-parser.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import { atom, BitBinary, ErlFloat, ErlMap, ImproperList, Pid, Ref, termEquals, Tuple, type Term } from '../../agent/erldist/terms.ts';
import { TermGenerator } from '../helpers/random-erlang-terms.ts';

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ErlDistError && e.kind === 'usage') return e.message;
    return `unexpected: ${String(e)}`;
  }
  return 'no error';
}

t.test('the calls the agent uses', async (t) => {
  const reload = parseErlangCall('erlmcp_config:reload()');
  t.strictSame(reload.module, atom('erlmcp_config'));
  t.strictSame(reload.function, atom('reload'));
  t.same(reload.args, []);

  const full = parseErlangCall('mod:fun(arg1, <<"bin">>, 42, atom, "str", [1,2], {a,b})');
  t.equal(formatTerm(full.args), '[arg1,<<"bin">>,42,atom,"str",[1,2],{a,b}]');
  t.ok(full.args[1] instanceof Uint8Array, '<<"bin">> is a binary');
  t.same(full.args[4], [115, 116, 114], '"str" is a list of characters');

  t.strictSame(parseErlangCall('  erlang:node( ) .  ').function, atom('node'), 'spaces and a trailing dot');
  t.strictSame(parseErlangCall("'Elixir.Mod':'do it'('x')").module, atom('Elixir.Mod'), 'quoted atoms');
});

t.test('literal terms', async (t) => {
  const cases: Array<[string, Term]> = [
    ['-17', -17],
    ['+5', 5],
    ['123456789012345678901234567890', 123456789012345678901234567890n],
    ['16#ff', 255],
    ['2#1010', 10],
    ['-36#zz', -1295],
    ['1.5', new ErlFloat(1.5)],
    ['-2.0e-3', new ErlFloat(-0.002)],
    ['$a', 97],
    ['$\\n', 10],
    ['"a\\"b\\\\c\\x{1F600}\\101"', [97, 34, 98, 92, 99, 0x1f600, 65]],
    ['<<>>', Buffer.alloc(0)],
    ['<<1, 2, 255>>', Buffer.from([1, 2, 255])],
    ['<<"ab", 0, $c>>', Buffer.from('ab\0c', 'latin1')],
    ['<<"é"/utf8>>', Buffer.from('é', 'utf8')],
    ['<<"é">>', Buffer.from([0xe9])],
    ['[1 | 2]', new ImproperList([1], 2)],
    ['[1, 2 | [3]]', [1, 2, 3]],
    ['{}', new Tuple([])],
    ['#{}', new ErlMap([])],
    ['#{a => [1], "k" => {x}}', new ErlMap([[atom('a'), [1]], [[107], new Tuple([atom('x')])]])],
    ["'it''s'", atom('it')], // two quoted atoms in a row is not one atom: see the error case below
  ];
  for (const [text, expected] of cases.slice(0, -1)) {
    const got = parseErlangTerm(text);
    t.ok(termEquals(got, expected), `${text} -> ${formatTerm(got)}`);
  }
  t.strictSame(parseErlangTerm("'it\\'s'"), atom("it's"));
  t.strictSame(parseErlangTerm('über'), atom('über'), 'Latin-1 letters are atom letters');
});

t.test('anything that is not a literal call is refused with the position', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /the Erlang call is empty/],
    ['   ', /the Erlang call is empty/],
    ['erlmcp_config', /character 14: expected ":" between module and function/],
    ['erlmcp_config:reload', /expected "\(" after the function name/],
    ['Mod:f()', /character 1: a module name must be an atom; M\.\.\. is a variable/],
    ['m:f(X)', /character 5: variables are not allowed/],
    ['m:f(_)', /variables are not allowed/],
    ['m:f(1 + 2)', /character 7: expected "\)" or "," after the argument/],
    ['m:f(g())', /character 5: nested calls are not allowed/],
    ['m:f(io:format("x"))', /nested calls are not allowed/],
    ['m:f(fun() -> ok end)', /nested calls are not allowed|reserved|expected/],
    ['m:f(1) m:g()', /unexpected text after the call/],
    ['m:f("unterminated)', /unterminated string/],
    ["m:f('unterminated)", /unterminated quoted atom/],
    ['m:f(<<256>>)', /binary segments must be strings or integers 0\.\.255/],
    ['m:f(<<X:8>>)', /binary segments must be strings or integers/],
    ['m:f(<<1:16>>)', /sizes and types are not supported/],
    ['m:f(<<"☃">>)', /does not fit a byte; write "..."\/utf8/],
    ['m:f(#{a})', /expected "=>" between a map key and its value/],
    ['m:f([1,2)', /expected "\]" or "," or "\|" in the list/],
    ['m:f({1,2)', /expected "}" or "," after the tuple element/],
    ['m:f(1.5.5)', /malformed number/],
    ['m:f(37#1)', /base 37 is not between 2 and 36/],
    ['m:f(8#9)', /digit 9 is not valid in base 8/],
    ['m:f(1)(2)', /unexpected text after the call/],
    ["m:f('it''s')", /expected "\)" or ","/],
    ['m:f(@)', /unexpected "@"/],
  ];
  for (const [text, why] of cases) {
    const msg = usageError(() => parseErlangCall(text));
    t.match(msg, why, `refused: ${text}`);
  }
  t.match(usageError(() => parseErlangCall(`m:f(${'x'.repeat(200)}`)), /\.\.\."/, 'long input is shortened in the message');
});

t.test('formatting', async (t) => {
  const cases: Array<[Term, string]> = [
    [atom('ok'), 'ok'],
    [atom('Hello'), "'Hello'"],
    [atom('with space'), "'with space'"],
    [atom("it's"), "'it\\'s'"],
    [atom('case'), "'case'"],
    [atom(''), "''"],
    [atom('a@b.c'), "'a@b.c'"],
    [atom('node@host'), 'node@host'],
    [atom('tab\there'), "'tab\\there'"],
    [[104, 105, 10], '"hi\\n"'],
    [[1, 2], '[1,2]'],
    [[0x263a], '"☺"'],
    [Buffer.from('plain'), '<<"plain">>'],
    [Buffer.from('snowman ☃', 'utf8'), '<<"snowman ☃"/utf8>>'],
    [Buffer.from([0, 200, 1]), '<<0,200,1>>'],
    [new BitBinary(Buffer.from([1, 0xa0]), 3), '<<1,5:3>>'],
    [new ErlFloat(1), '1.0'],
    [new ErlFloat(-0), '-0.0'],
    [new ErlFloat(1e21), '1.0e21'],
    [new ErlFloat(1.5e-7), '1.5e-7'],
    [2n ** 70n, '1180591620717411303424'],
    [new ImproperList([1, 2], atom('t')), '[1,2|t]'],
    [new Tuple([atom('badrpc'), new Tuple([atom('EXIT'), atom('x')])]), "{badrpc,{'EXIT',x}}"],
    [new ErlMap([[atom('k'), Buffer.from('v')]]), '#{k => <<"v">>}'],
    [new Pid(atom('n@h'), 83, 0, 1), '#Pid<n@h.83.0>'],
    [new Ref(atom('n@h'), 1, [1, 2, 3]), '#Ref<n@h.3.2.1>'],
  ];
  for (const [term, text] of cases) t.equal(formatTerm(term), text);
});

t.test(`format then parse gives the same term (300 random literal terms)`, async (t) => {
  const gen = new TermGenerator(777, { opaque: false, maxDepth: 4 });
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    const term = gen.term();
    const text = formatTerm(term);
    let back: Term | undefined;
    try {
      back = parseErlangTerm(text);
    } catch (e) {
      t.fail(`${text}: ${(e as Error).message}`);
      bad++;
      continue;
    }
    if (!termEquals(back, term)) {
      bad++;
      t.fail(`${text} parsed as ${formatTerm(back)}`);
    }
  }
  t.equal(bad, 0);
});
