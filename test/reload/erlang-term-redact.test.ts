// What the erlang notifier shows of a term from the node: structure, atoms
// and numbers stay; every binary and string becomes its size; arguments in
// stack frames become their count; long terms are cut.

import t from 'tap';
import { parseErlangTerm } from '../../agent/erldist/call-parser.ts';
import { atom, BitBinary, ErlMap, ImproperList, Tuple } from '../../agent/erldist/terms.ts';
import { describeNodeTerm } from '../../agent/reload/erlang-term-redact.ts';

const SECRET = 'CANARY-redact-5f4e3d2c1b';

t.test('text inside a term becomes sizes; the diagnosis stays', async (t) => {
  t.equal(describeNodeTerm(atom('ok')), 'ok');
  t.equal(describeNodeTerm(parseErlangTerm('{error, enoent}')), '{error,enoent}');
  t.equal(describeNodeTerm(parseErlangTerm('{error, {badmatch, 42, 1.5}}')), '{error,{badmatch,42,1.5}}');
  t.equal(describeNodeTerm(Buffer.from(SECRET)), `'<${SECRET.length}-byte binary>'`);
  t.equal(describeNodeTerm(SECRET), `'<${SECRET.length}-byte binary>'`, 'a JS string is a binary on the wire');
  t.equal(describeNodeTerm([...SECRET].map((c) => c.codePointAt(0) as number)), `'<${SECRET.length}-character string>'`);
  t.equal(describeNodeTerm([]), '[]', 'the empty list is not a string');
  t.equal(describeNodeTerm([atom('a'), 1]), '[a,1]');
  t.equal(describeNodeTerm(new BitBinary(Buffer.from([0xff, 0x80]), 1)), "'<2-byte bitstring>'");
  t.equal(describeNodeTerm(new ImproperList([Buffer.from('x')], Buffer.from(SECRET))), `['<1-byte binary>'|'<${SECRET.length}-byte binary>']`);
  t.equal(describeNodeTerm(new ImproperList([...SECRET].map((c) => c.codePointAt(0) as number), atom('done'))), `['<${SECRET.length}-character string>'|done]`, 'an improper char list is text too');
  t.equal(
    describeNodeTerm(new ErlMap([[Buffer.from('password'), Buffer.from(SECRET)], [atom('port'), 5432]])),
    `#{'<8-byte binary>' => '<${SECRET.length}-byte binary>',port => 5432}`,
  );
});

t.test('stack frames keep M:F/Arity and the location, not the arguments', async (t) => {
  const frame = new Tuple([atom('erlmcp_config'), atom('apply'), [Buffer.from(SECRET), 7], [new Tuple([atom('line'), 12])]]);
  const reason = new Tuple([atom('EXIT'), new Tuple([atom('function_clause'), [frame]])]);
  t.equal(describeNodeTerm(reason), "{'EXIT',{function_clause,[{erlmcp_config,apply,2,[{line,12}]}]}}");
});

t.test('long terms are cut', async (t) => {
  const long = describeNodeTerm(Array.from({ length: 1000 }, (_, i) => atom(`a${i}`)));
  t.equal(long.length, 603);
  t.ok(long.endsWith('...'));
});
