// renderTemplate: strict lookup with exact messages, escaping applied only to
// {{x}}, and no secret value in any error.

import t from 'tap';
import { parseTemplate, renderTemplate, type SecretData } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { AgentError } from '../../agent/errors.ts';

const CANARY = 'CANARY-7f3a9c-s3cr3t';
const DATA: SecretData = {
  db: { username: 'erlmcp', password: `${CANARY}-db` },
  cookie: { value: `${CANARY}-cookie` },
  jwt: { secret: `${CANARY}-jwt` },
};

function render(text: string, data: SecretData = DATA, escape: Escape = 'none'): string {
  return renderTemplate(parseTemplate(text, 'templates[0]'), data, escape);
}

function renderError(text: string, data: SecretData = DATA, escape: Escape = 'none'): AgentError {
  try {
    render(text, data, escape);
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error('expected the render to fail');
}

t.test('renders text and values; comments and standalone lines as Mustache does', async (t) => {
  t.equal(render('user={{db.username}}\n{{! note }}\npass={{db.password}}\n'), `user=erlmcp\npass=${CANARY}-db\n`);
  t.equal(render('{{=<% %>=}}\n<% db.username %>/{{db.username}}'), 'erlmcp/{{db.username}}');
});

t.test('a missing key is an error naming the key and the keys that exist', async (t) => {
  const err = renderError('A=1\nDB_PASSWORD={{db.pasword}}\n');
  t.equal(err.code, 'template');
  t.equal(err.where, 'templates[0]');
  t.equal(err.message, 'templates[0]: {{db.pasword}} at line 2: secret "db" has no key "pasword" (keys: password, username)');
});

t.test('a missing secret is an error naming the secrets that exist', async (t) => {
  const err = renderError('{{redis.password}}');
  t.equal(err.message, 'templates[0]: {{redis.password}} at line 1: no secret "redis" (secrets: cookie, db, jwt)');
  t.equal(renderError('{{redis.password}}', {}).message, 'templates[0]: {{redis.password}} at line 1: no secret "redis" (no secrets are defined)');
  t.equal(renderError('{{db.password}}', { db: {} }).message, 'templates[0]: {{db.password}} at line 1: secret "db" has no key "password" (it has no keys)');
});

t.test('every missing reference is reported at once, one line per secret.key with all its lines', async (t) => {
  const err = renderError('{{db.pasword}}\n{{redis.host}}\n{{db.username}}\n{{{db.pasword}}}\n{{jwt.secrt}}\n');
  t.same(err.problems, [
    'templates[0]: {{db.pasword}} at lines 1, 4: secret "db" has no key "pasword" (keys: password, username)',
    'templates[0]: {{redis.host}} at line 2: no secret "redis" (secrets: cookie, db, jwt)',
    'templates[0]: {{jwt.secrt}} at line 5: secret "jwt" has no key "secrt" (keys: secret)',
  ]);
  t.equal(err.message, err.problems.join('\n'));
});

t.test('inherited properties are not keys or secrets', async (t) => {
  t.equal(renderError('{{db.constructor}}').message, 'templates[0]: {{db.constructor}} at line 1: secret "db" has no key "constructor" (keys: password, username)');
  t.equal(renderError('{{toString.x}}').message, 'templates[0]: {{toString.x}} at line 1: no secret "toString" (secrets: cookie, db, jwt)');
});

t.test('a value that is not a string (a provider bug) is reported as such, without the value', async (t) => {
  const data = { db: { port: 5432, password: null } } as unknown as SecretData;
  t.same(renderError('{{db.port}}{{db.password}}', data).problems, [
    'templates[0]: {{db.port}} at line 1: secret "db" key "port" is of type number, not text (a provider bug: please report it)',
    'templates[0]: {{db.password}} at line 1: secret "db" key "password" is null, not text (a provider bug: please report it)',
  ]);
});

t.test('a long key list is cut after 20 names', async (t) => {
  const many = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
  const shown = Array.from({ length: 20 }, (_, i) => `k${String(i).padStart(2, '0')}`).join(', ');
  t.equal(renderError('{{big.nope}}', { big: many }).message, `templates[0]: {{big.nope}} at line 1: secret "big" has no key "nope" (keys: ${shown} and 5 more)`);
});

t.test('an empty value renders as empty (it exists); only a missing one is an error', async (t) => {
  t.equal(render('A={{s.empty}};', { s: { empty: '' } }), 'A=;');
  t.equal(render('A={{s.empty}}', { s: { empty: '' } }, 'dotenv'), "A=''");
});

t.test('{{x}} is escaped with the given mode, {{{x}}} and {{& x}} are not', async (t) => {
  const data = { s: { v: `it's "x"` } };
  const expected: Record<Escape, string> = {
    none: `it's "x"`,
    dotenv: '`it\'s "x"`',
    shell: `'it'\\''s "x"'`,
    json: `"it's \\"x\\""`,
    yaml: `"it's \\"x\\""`,
    erlang: `<<"it's \\"x\\"">>`,
  };
  for (const [escape, text] of Object.entries(expected) as Array<[Escape, string]>) {
    t.equal(render('{{s.v}}|{{{s.v}}}|{{& s.v}}', data, escape), `${text}|it's "x"|it's "x"`, escape);
  }
});

t.test('a value that cannot be escaped is a validation error naming secret.key and every line', async (t) => {
  const err = renderError('export A={{db.password}}\nexport B={{db.password}}\nexport C={{{db.password}}}\nexport D={{jwt.secret}}\n', { db: { password: `${CANARY}\0` }, jwt: { secret: `${CANARY}\0` } }, 'shell');
  t.equal(err.code, 'validation');
  t.same(err.problems, [
    'templates[0]: {{db.password}} at lines 1, 2: the value of db.password cannot be written with escape "shell": shell variables cannot hold a NUL character',
    'templates[0]: {{jwt.secret}} at line 4: the value of jwt.secret cannot be written with escape "shell": shell variables cannot hold a NUL character',
  ]);
});

t.test('raw references skip escaping but not the UTF-8 check', async (t) => {
  const err = renderError('A={{{db.password}}}\nB={{& db.password}}\n', { db: { password: `${CANARY}\udc00` } }, 'json');
  t.same(err.problems, [
    'templates[0]: {{{db.password}}} at lines 1, 2: the value of db.password cannot be written raw: it is not well-formed Unicode (it has a lone UTF-16 surrogate), so it cannot be written as UTF-8',
  ]);
});

t.test('missing references are reported before values that cannot be escaped', async (t) => {
  const err = renderError('{{db.password}}{{db.nope}}', { db: { password: `${CANARY}\0` } }, 'shell');
  t.equal(err.code, 'template');
  t.equal(err.message, 'templates[0]: {{db.nope}} at line 1: secret "db" has no key "nope" (keys: password)');
});

t.test('canary: no secret value appears anywhere in any error', async (t) => {
  const hostile = {
    db: { password: `${CANARY}'"\`#\n\\n`, username: `${CANARY}\0`, other: `${CANARY}\ud800` },
  };
  const errors = [
    renderError('{{db.passwrd}}', hostile),
    renderError('X={{db.password}}', hostile, 'dotenv'),
    renderError('export X={{db.username}}', hostile, 'shell'),
    ...(['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'] as const).map((e) => renderError('{{db.other}}', hostile, e)),
  ];
  t.equal(errors.length, 9);
  for (const err of errors) {
    const everything = [err.message, err.stack ?? '', String(err), JSON.stringify(err), err.where ?? '', ...err.problems, String(err.cause ?? '')].join('\n');
    t.notMatch(everything, CANARY, `${err.code}: ${err.problems[0]?.slice(0, 60)}`);
  }
});
