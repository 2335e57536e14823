// templateWarnings: what `check` should point out in templates that parse.

import t from 'tap';
import { parseTemplate, templateWarnings } from '../../agent/render/index.ts';

const warn = (text: string, escape: Parameters<typeof templateWarnings>[1]) => templateWarnings(parseTemplate(text, 'templates[1]'), escape);

t.test('raw references warn in every escaping mode, not in none', async (t) => {
  t.same(warn('A={{{db.password}}}\nB={{& db.username}}', 'none'), []);
  t.same(warn('A={{{db.password}}}\n', 'dotenv'), [
    'templates[1]: {{{db.password}}} at line 1 is raw, so escape "dotenv" does not apply and a quote or newline in the value can break the file; use {{db.password}} unless a rule guarantees the value is safe',
  ]);
  t.equal(warn('A=1\nB={{& db.username}}', 'erlang').length, 1);
});

t.test('quotes written around an escaped reference warn: the escape adds its own', async (t) => {
  t.same(warn('DB_PASSWORD="{{db.password}}"\n', 'dotenv'), [
    'templates[1]: {{db.password}} at line 1 is inside quotes, but escape "dotenv" writes the quotes itself; remove the quotes around it',
  ]);
  t.equal(warn("export P='{{db.password}}'", 'shell').length, 1);
  t.equal(warn('{"p": "{{db.password}}"}', 'json').length, 1);
  t.equal(warn('{password, <<"{{db.password}}">>}', 'erlang').length, 1, 'one warning for <<"{{x}}">>');
  t.equal(warn('{password, <<{{db.password}}>>}', 'erlang').length, 1, '<< alone counts too');
  t.same(warn('P="{{db.password}}"', 'none'), [], 'none adds no quotes, so quotes are the author\'s');
});

t.test('well-formed templates get no warnings', async (t) => {
  t.same(warn('DB_PASSWORD={{db.password}}\nDB_USER={{db.username}}\n', 'dotenv'), []);
  t.same(warn('{"p": {{db.password}}, "u": {{db.username}}}', 'json'), []);
  t.same(warn('[{erlmcp, [{jwt_secret, {{jwt.secret}}}]}].', 'erlang'), []);
});
