// parseTemplate: what it records, what it accepts, and the exact message for
// everything it rejects.

import t from 'tap';
import Mustache from 'mustache';
import { parseTemplate, secretsUsed } from '../../agent/render/index.ts';
import { AgentError } from '../../agent/errors.ts';

const LABEL = 'templates[0] (templates/erlmcp.env.mustache)';

function parseError(text: string): AgentError {
  try {
    parseTemplate(text, LABEL);
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

t.test('records every reference with secret, key, line and rawness, in order', async (t) => {
  const parsed = parseTemplate(
    'DB_USER={{db.username}}\nDB_PASSWORD={{ db.password }}\n\nRAW={{{jwt.secret}}} AMP={{& cookie.value}}\nAGAIN={{db.password}}\n',
    LABEL,
  );
  t.same(parsed.references, [
    { secret: 'db', key: 'username', line: 1, raw: false },
    { secret: 'db', key: 'password', line: 2, raw: false },
    { secret: 'jwt', key: 'secret', line: 4, raw: true },
    { secret: 'cookie', key: 'value', line: 4, raw: true },
    { secret: 'db', key: 'password', line: 5, raw: false },
  ]);
  t.equal(parsed.label, LABEL);
  t.same(secretsUsed(parsed), ['cookie', 'db', 'jwt']);
});

t.test('the key is everything after the first dot, so keys with dots work', async (t) => {
  const parsed = parseTemplate('{{tls.tls.crt}} {{a-b_c.x.y.z}}', LABEL);
  t.same(
    parsed.references.map((r) => [r.secret, r.key]),
    [
      ['tls', 'tls.crt'],
      ['a-b_c', 'x.y.z'],
    ],
  );
});

t.test('comments vanish, and a standalone comment line takes its newline with it', async (t) => {
  const parsed = parseTemplate('A=1\n{{! this line goes }}\nB={{s.k}} {{! inline }}end\n', LABEL);
  t.same(parsed.parts, [
    { kind: 'text', text: 'A=1\nB=' },
    { kind: 'reference', reference: { secret: 's', key: 'k', line: 3, raw: false } },
    { kind: 'text', text: ' end\n' },
  ]);
});

t.test('set-delimiter changes work, for escaped and raw tags', async (t) => {
  const parsed = parseTemplate('{{=<% %>=}}\nA=<% db.password %>\nB=<%& db.username %>\nC={{not.a.tag}}\n<%={{ }}=%>D={{x.y}}\n', LABEL);
  t.same(parsed.references, [
    { secret: 'db', key: 'password', line: 2, raw: false },
    { secret: 'db', key: 'username', line: 3, raw: true },
    { secret: 'x', key: 'y', line: 5, raw: false },
  ]);
  t.same(parsed.parts[0], { kind: 'text', text: 'A=' }, 'the standalone delimiter line is dropped');
  t.match(JSON.stringify(parsed.parts), 'C={{not.a.tag}}', 'old delimiters are plain text after the change');
});

t.test('text without tags and the empty template are fine', async (t) => {
  t.same(parseTemplate('plain\ntext', LABEL).parts, [{ kind: 'text', text: 'plain\ntext' }]);
  t.same(parseTemplate('', LABEL).parts, []);
  t.same(parseTemplate('', LABEL).references, []);
});

const SUPPORTED =
  'supported: {{secret.key}}, raw {{{secret.key}}} or {{& secret.key}}, comments {{! ... }}, delimiter changes {{=<% %>=}} and the value sections of docs/templates.md';
const SECTIONS = 'the sections are erl.integer, erl.atom, erl.string, erl.binary, base64decode, base64encode, json, default, each around one {{secret.key}} (see docs/templates.md)';

t.test('syntax errors carry the label and a line', async (t) => {
  const cases: Array<[string, string]> = [
    ['A=1\nB=2\n{{#db}}\n{{db.password}}\n', `${LABEL}: unclosed section "db" at line 3 (no matching {{/db}})`],
    ['A=1\nB={{db.password}\nC=3', `${LABEL}: unclosed tag at line 2 (a tag opened but never closed)`],
    ['A=1\n{{/db}}', `${LABEL}: unopened section "db" at line 2 (a {{/db}} without a {{#db}})`],
    ['{{=<% =}}', `${LABEL}: invalid delimiter change "<%": give two delimiters separated by a space, e.g. {{=<% %>=}}`],
    ['{{{db.password}}', `${LABEL}: unclosed tag at line 1 (a tag opened but never closed)`],
  ];
  for (const [text, message] of cases) {
    const err = parseError(text);
    t.equal(err.code, 'template', text);
    t.equal(err.message, message, text);
    t.equal(err.where, LABEL);
  }
});

t.test('sections other than value sections, inverted sections and partials are rejected, each with what is supported', async (t) => {
  const err = parseError('A={{#db}}{{db.password}}{{/db}}\nB={{^db}}none{{/db}}\n{{> footer}}\n');
  t.same(err.problems, [
    `${LABEL}: {{#db}} at line 1: unknown section "db"; ${SECTIONS}`,
    `${LABEL}: {{^db}} at line 2: inverted sections are not supported; ${SUPPORTED}`,
    `${LABEL}: {{> footer}} at line 3: partials are not supported; ${SUPPORTED}`,
  ]);
  t.equal(err.message, err.problems.join('\n'));
});

t.test('names that are not secret.key are rejected, all at once', async (t) => {
  const err = parseError('A={{db}}\nB={{.}}\nC={{9lives.key}}\nD={{db.}}\nE={{{password}}}\nF={{ db password }}\nG={{ }}\n');
  t.equal(err.code, 'template');
  t.same(err.problems, [
    `${LABEL}: {{db}} at line 1: "db" names no key; use {{secret.key}}, e.g. {{db.password}}`,
    `${LABEL}: {{.}} at line 2: "." (the current context) is not supported; use {{secret.key}}`,
    `${LABEL}: {{9lives.key}} at line 3: "9lives" is not a secret name (names start with a letter and use letters, digits, "_" and "-"); use {{secret.key}}`,
    `${LABEL}: {{db.}} at line 4: no key after "db."; use {{secret.key}}`,
    `${LABEL}: {{{password}}} at line 5: "password" names no key; use {{secret.key}}, e.g. {{password.password}}`,
    `${LABEL}: {{ db password }} at line 6: "db password" names no key; use {{secret.key}}`,
    `${LABEL}: {{ }} at line 7: an empty tag; use {{secret.key}}`,
  ]);
});

t.test('a long bad tag is shortened in the message', async (t) => {
  const err = parseError(`{{#${'x'.repeat(200)}}}{{/${'x'.repeat(200)}}}`);
  t.equal(err.message, `${LABEL}: {{#${'x'.repeat(54)}... at line 1: unknown section "${'x'.repeat(37)}..."; ${SECTIONS}`);
});

t.test("parsing neither fills Mustache's shared cache nor follows its global delimiters", async (t) => {
  const cache = (Mustache.templateCache as unknown as { _cache: Record<string, unknown> })._cache;
  const before = Object.keys(cache).length;
  for (let i = 0; i < 50; i++) parseTemplate(`A={{s.k${i}}}`, LABEL);
  t.equal(Object.keys(cache).length, before, 'nothing cached');
  const saved = Mustache.tags;
  Mustache.tags = ['<%', '%>'];
  try {
    t.same(parseTemplate('{{s.k}} <%s.j%>', LABEL).references, [{ secret: 's', key: 'k', line: 1, raw: false }]);
  } finally {
    Mustache.tags = saved;
  }
});
