// Typed Erlang values (issue 12 item 2): erl.integer, erl.atom, erl.string and
// erl.binary sections, read back by a real erl's file:consult/1; misuse is a
// template error at parse/check time, bad values a validation error naming
// secret.key and never the value; no value can break out of its term.

import t from 'tap';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTemplate, renderTemplate, sectionEscapeProblems, templateWarnings, type SecretData } from '../../agent/render/index.ts';
import { agentErrorOf, assertTemplateRejections } from '../helpers/template-errors.ts';
import { HOSTILE_VALUES, NUL_VALUE } from '../helpers/hostile-values.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const LABEL = 'templates[0] (sys.config)';
const CANARY = 'CANARY-erl-9d2f';

function render(text: string, data: SecretData): string {
  return renderTemplate(parseTemplate(text, LABEL), data, 'erlang');
}

const failure = agentErrorOf;

function consult(text: string): unknown[] {
  const dir = mkdtempSync(join(tmpdir(), 'erl-sections-'));
  const file = join(dir, 'sys.config');
  writeFileSync(file, text);
  return consultErlang(file);
}

const chars = (s: string) => [...s].map((c) => c.codePointAt(0));

t.test('each type is written as its Erlang term and read back exactly by file:consult/1', async (t) => {
  const data = { db: { port: '5432', negative: '-17', big: '123456789012345678901234567890', user: 'erlmcp' }, c: { cookie: 'abc_DEF-123', backend: 'vault' } };
  const text = render(
    '[{port, {{#erl.integer}}{{db.port}}{{/erl.integer}}},\n' +
      ' {neg, {{#erl.integer}} {{db.negative}} {{/erl.integer}}},\n' +
      ' {big, {{#erl.integer}}{{db.big}}{{/erl.integer}}},\n' +
      ' {cookie, {{#erl.atom}}{{c.cookie}}{{/erl.atom}}},\n' +
      ' {backend, {{#erl.atom}}{{c.backend}}{{/erl.atom}}},\n' +
      ' {user, {{#erl.string}}{{db.user}}{{/erl.string}}},\n' +
      ' {user_bin, {{#erl.binary}}{{db.user}}{{/erl.binary}}},\n' +
      ' {plain, {{db.user}}}].\n',
    data,
  );
  t.equal(
    text,
    "[{port, 5432},\n {neg, -17},\n {big, 123456789012345678901234567890},\n {cookie, 'abc_DEF-123'},\n {backend, 'vault'},\n {user, \"erlmcp\"},\n {user_bin, <<\"erlmcp\">>},\n {plain, <<\"erlmcp\">>}].\n",
  );
  t.same(consult(text), [
    [
      { tuple: [{ atom: 'port' }, 5432] },
      { tuple: [{ atom: 'neg' }, -17] },
      { tuple: [{ atom: 'big' }, 123456789012345678901234567890] },
      { tuple: [{ atom: 'cookie' }, { atom: 'abc_DEF-123' }] },
      { tuple: [{ atom: 'backend' }, { atom: 'vault' }] },
      { tuple: [{ atom: 'user' }, chars('erlmcp')] },
      { tuple: [{ atom: 'user_bin' }, Buffer.from('erlmcp')] },
      { tuple: [{ atom: 'plain' }, Buffer.from('erlmcp')] },
    ],
  ]);
});

t.test('every hostile value stays inside its atom, string and binary: erl reads each back exactly', async (t) => {
  const all: Record<string, string> = { ...HOSTILE_VALUES, nul: NUL_VALUE };
  const names = Object.keys(all);
  const lines = names.map((n) => `{${JSON.stringify(n).replaceAll('"', "'")}, {{#erl.atom}}{{h.${n}}}{{/erl.atom}}, {{#erl.string}}{{h.${n}}}{{/erl.string}}, {{#erl.binary}}{{h.${n}}}{{/erl.binary}}}.`);
  const text = render(`${lines.join('\n')}\n`, { h: all });
  t.match(text, /^[\x20-\x7e\n]*$/, 'the file is ASCII');
  const terms = consult(text) as Array<{ tuple: [{ atom: string }, { atom: string }, number[], Buffer] }>;
  t.equal(terms.length, names.length, 'one term per value: nothing broke out');
  names.forEach((n, i) => {
    const [name, atom, string, binary] = terms[i]!.tuple;
    t.equal(name.atom, n);
    t.equal(atom.atom, all[n], `${n}: atom`);
    t.same(string, chars(all[n]!), `${n}: string`);
    t.same(binary, Buffer.from(all[n]!, 'utf8'), `${n}: binary`);
  });
});

t.test('an atom of 255 characters is written; 256 is a validation error', async (t) => {
  const ok = 'ä'.repeat(255);
  t.same(consult(`${render('{{#erl.atom}}{{a.ok}}{{/erl.atom}}.', { a: { ok } })}\n`), [{ atom: ok }]);
  const err = failure(() => render('{{#erl.atom}}{{a.long}}{{/erl.atom}}', { a: { long: `${CANARY}${'x'.repeat(256)}` } }));
  t.equal(err.code, 'validation');
  t.equal(err.message, `${LABEL}: {{#erl.atom}}{{a.long}}{{/erl.atom}} at line 1: the value of a.long cannot be written as erl.atom: an Erlang atom has at most 255 characters`);
});

t.test('erl.integer refuses anything but a decimal integer, naming the key and never the value', async (t) => {
  const bad = ['', ' 1', '1 ', '1\n', '+1', '1.0', '0x10', '1e3', '--1', '-', `${CANARY}`, '1}]. evil', '١٢', '9'.repeat(65)];
  for (const v of bad) {
    const err = failure(() => render('{port, {{#erl.integer}}{{db.port}}{{/erl.integer}}}', { db: { port: v } }));
    t.equal(err.code, 'validation', JSON.stringify(v));
    t.match(err.message, `${LABEL}: {{#erl.integer}}{{db.port}}{{/erl.integer}} at line 1: the value of db.port cannot be written as erl.integer: erl.integer `, JSON.stringify(v));
    if (v.length > 3) t.notMatch(err.message, v, 'value not in the message');
  }
  t.equal(render('{{#erl.integer}}{{db.port}}{{/erl.integer}}', { db: { port: '9'.repeat(64) } }), '9'.repeat(64), '64 digits are fine');
});

t.test('misuse is a template error at parse time, with the reason', async (t) => {
  const cases: Array<[string, string]> = [
    ['{{#erl.integer}}{{db.port}}{{db.host}}{{/erl.integer}}', '{{#erl.integer}} must hold exactly one value, e.g. {{#erl.integer}}{{db.password}}{{/erl.integer}}, with nothing else but whitespace'],
    ['{{#erl.integer}}port={{db.port}}{{/erl.integer}}', '{{#erl.integer}} must hold exactly one value'],
    ['{{#erl.atom}}{{/erl.atom}}', '{{#erl.atom}} must hold exactly one value'],
    ['{{#erl.atom}}{{{c.cookie}}}{{/erl.atom}}', '{{#erl.atom}} writes its value in its own quoted form; use {{c.cookie}} inside it, not a raw tag'],
    ['{{#erl.atom}}{{& c.cookie}}{{/erl.atom}}', 'not a raw tag'],
    ['{{#erl.binary}}{{#erl.atom}}{{c.cookie}}{{/erl.atom}}{{/erl.binary}}', '{{#erl.atom}} must be the outermost section around a value'],
    ['{{#base64decode}}{{#erl.string}}{{c.cookie}}{{/erl.string}}{{/base64decode}}', '{{#erl.string}} must be the outermost section'],
    ['{{#erl.float}}{{db.port}}{{/erl.float}}', 'unknown section "erl.float"'],
    ['{{#erl.integer}}{{db}}{{/erl.integer}}', '"db" names no key'],
    ['{{#erl.integer}}{{> partial}}{{/erl.integer}}', 'must hold exactly one value'],
    ['{{#erl.integer}}{{db.port}}', 'unclosed section "erl.integer" at line 1'],
    ['{{^erl.integer}}{{db.port}}{{/erl.integer}}', 'inverted sections are not supported'],
  ];
  assertTemplateRejections(t, cases, LABEL);
  t.same(parseTemplate('{{#erl.integer}}\n  {{db.port}}  {{! the port }}\n{{/erl.integer}}', LABEL).references.map((r) => r.key), ['port'], 'whitespace and comments are fine');
});

t.test('erl.* sections need escape erlang: a template error in any other mode', async (t) => {
  const parsed = parseTemplate('PORT={{#erl.integer}}{{db.port}}{{/erl.integer}}\n', 'templates[1] (app.env)');
  t.same(sectionEscapeProblems(parsed, 'erlang'), []);
  t.same(sectionEscapeProblems(parsed, 'dotenv'), [
    'templates[1] (app.env): {{#erl.integer}}{{db.port}}{{/erl.integer}} at line 1: erl.integer writes an Erlang term, but this template\'s escape is "dotenv"; set escape: erlang for it (a .config, .erl or .term destination gets it by default), or use {{secret.key}}',
  ]);
  const err = failure(() => renderTemplate(parsed, { db: { port: '1' } }, 'json'));
  t.equal(err.code, 'template');
});

t.test('check warns about quotes around erl.atom/erl.string, not around erl.integer', async (t) => {
  const parsed = parseTemplate("{a, '{{#erl.atom}}{{c.cookie}}{{/erl.atom}}'}, {p, \"{{#erl.integer}}{{db.port}}{{/erl.integer}}\"}", LABEL);
  t.same(templateWarnings(parsed, 'erlang'), [`${LABEL}: {{#erl.atom}}{{c.cookie}}{{/erl.atom}} at line 1 is inside quotes, but escape "erlang" writes the quotes itself; remove the quotes around it`]);
});

t.test('through the CLI: check exits 2 on misuse, init exits 3 on a non-integer port without printing it, 0 writes a config erl reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'erl-cli-'));
  writeFileSync(join(dir, 'db.yaml'), `port: "${CANARY}-5432"\ngood_port: "5432"\ncookie: "${CANARY}'}]."\n`);
  const config = (template: string) => {
    const cfg = join(dir, `agent-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(join(dir, 'sys.config.mustache'), template);
    writeFileSync(cfg, `providers:\n  local: { type: file, path: . }\nsecrets:\n  db: { provider: local }\noutput: { root: ./out }\ntemplates:\n  - source: sys.config.mustache\n    destination: sys.config\ninit: { timeout: 5s }\n`);
    return cfg;
  };
  const misuse = await runCli(['check', '-c', config('[{erlmcp, [{port, {{#erl.integer}}{{db.port}} {{db.cookie}}{{/erl.integer}}}]}].\n')]);
  t.equal(misuse.code, 2, misuse.stderr);
  t.match(misuse.stderr, '{{#erl.integer}} must hold exactly one value');

  const bad = await runCli(['init', '-c', config('[{erlmcp, [{port, {{#erl.integer}}{{db.port}}{{/erl.integer}}}]}].\n')]);
  t.equal(bad.code, 3, bad.stderr);
  t.match(bad.stderr, 'the value of db.port cannot be written as erl.integer');
  assertNoLeak(t, [bad.stdout, bad.stderr], [CANARY]);

  const good = await runCli(['init', '-c', config('[{erlmcp, [{port, {{#erl.integer}}{{db.good_port}}{{/erl.integer}}}, {cookie, {{#erl.atom}}{{db.cookie}}{{/erl.atom}}}]}].\n')]);
  t.equal(good.code, 0, good.stderr);
  t.same(consultErlang(join(dir, 'out', 'sys.config')), [[{ tuple: [{ atom: 'erlmcp' }, [{ tuple: [{ atom: 'port' }, 5432] }, { tuple: [{ atom: 'cookie' }, { atom: `${CANARY}'}].` }] }]] }]]);
  assertNoLeak(t, [good.stdout, good.stderr], [CANARY]);
});

t.test('the examples in docs/templates.md parse, and its sys.config example renders to what erl reads', async (t) => {
  const doc = readFileSync(join(import.meta.dirname, '../../docs/templates.md'), 'utf8');
  const blocks = [...doc.matchAll(/```mustache\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.equal(blocks.length, 4, 'sys.config, base64, default and json examples');
  for (const b of blocks) t.ok(parseTemplate(b, 'docs/templates.md'), b.split('\n')[0]!);
  const data = { db: { port: '5432', username: 'erlmcp' }, settings: { backend: 'vault' }, cookie: { value: 'Zq8cookie' }, jwt: { secret: 'j"w\'t' } };
  const terms = consult(render(blocks[0]!, data));
  t.same(terms, [
    [
      {
        tuple: [
          { atom: 'erlmcp' },
          [
            { tuple: [{ atom: 'port' }, 5432] },
            { tuple: [{ atom: 'backend' }, { atom: 'vault' }] },
            { tuple: [{ atom: 'cluster_cookie' }, { atom: 'Zq8cookie' }] },
            { tuple: [{ atom: 'db_user' }, chars('erlmcp')] },
            { tuple: [{ atom: 'jwt_secret' }, Buffer.from('j"w\'t')] },
          ],
        ],
      },
    ],
  ]);
});

