// Every escape mode, with hostile values, read back by the real consumer of
// that format: the dotenv package (both parsers), bash `source`, JSON.parse,
// the yaml package and an Erlang node's file:consult/1.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import YAML from 'yaml';
import { parseTemplate, renderTemplate } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { AgentError } from '../../agent/errors.ts';
import { HOSTILE_VALUES, NUL_VALUE } from '../helpers/hostile-values.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { sourceInShell } from '../helpers/shell-source.ts';

const names = Object.keys(HOSTILE_VALUES);
const data = { h: { ...HOSTILE_VALUES, nul: NUL_VALUE } };

function render(text: string, escape: Escape): string {
  return renderTemplate(parseTemplate(text, 'templates[0]'), data, escape);
}

function renderError(text: string, values: Record<string, string>, escape: Escape): AgentError {
  try {
    renderTemplate(parseTemplate(text, 'templates[0]'), { h: values }, escape);
  } catch (e) {
    if (e instanceof AgentError) return e;
    throw e;
  }
  throw new Error('expected the render to fail');
}

t.test('none writes the value exactly as it is', async (t) => {
  for (const name of names) {
    t.equal(render(`X={{h.${name}}};`, 'none'), `X=${HOSTILE_VALUES[name]};`, name);
  }
});

t.test('dotenv: every hostile value comes back from dotenv.parse, with hostile neighbours', async (t) => {
  // Each value is followed by lines whose quoted '#' would end a run-away
  // quote early, so a value that "escapes" its quotes is caught.
  const lines = names.flatMap((n, i) => [`V${i}={{h.${n}}}`, `N${i}a='#'`, `N${i}b="#"`, `N${i}c=\`#\``, `# comment ${i}`]);
  const text = render(`${lines.join('\n')}\n`, 'dotenv');
  for (const fast of [false, true]) {
    const parsed = dotenv.parse(text, { fast });
    names.forEach((n, i) => {
      t.equal(parsed[`V${i}`], HOSTILE_VALUES[n], `${n} (fast parser: ${fast})`);
      t.same([parsed[`N${i}a`], parsed[`N${i}b`], parsed[`N${i}c`]], ['#', '#', '#'], `neighbours of ${n} intact`);
    });
    t.equal(Object.keys(parsed).length, names.length * 4, 'no extra variables appeared');
  }
});

t.test('dotenv: the file written to disk parses the same (UTF-8 on disk)', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'erlmcp.env');
  const lines = names.map((n, i) => `V${i}={{h.${n}}}`);
  writeFileSync(file, render(`${lines.join('\n')}\n`, 'dotenv'));
  const env: Record<string, string> = {};
  dotenv.config({ path: file, processEnv: env, quiet: true });
  names.forEach((n, i) => t.equal(env[`V${i}`], HOSTILE_VALUES[n], n));
});

t.test('dotenv: NUL survives, as dotenv.parse keeps it', async (t) => {
  t.equal(dotenv.parse(render('X={{h.nul}}\n', 'dotenv')).X, NUL_VALUE);
});

t.test('dotenv: values no dotenv quoting can carry are refused with a validation error naming only secret.key', async (t) => {
  const refused: Record<string, string> = {
    allQuotesAndHash: `CANARY-a'b"c\`d#e`,
    allQuotesEscapeLookalikeAndNewline: `CANARY-a'b"c\`\\n\nd`,
    crAndBothQuotesAndHash: `CANARY-\r"'#`,
    multilineEndingInBackslash: 'CANARY-a\nb\\',
    spaceThenTrailingBackslash: ' CANARY-x\\',
  };
  for (const [key, value] of Object.entries(refused)) {
    const err = renderError(`A=1\nX={{h.${key}}}\n`, { [key]: value }, 'dotenv');
    t.equal(err.code, 'validation', key);
    t.equal(
      err.message,
      `templates[0]: {{h.${key}}} at line 2: the value of h.${key} cannot be written with escape "dotenv": dotenv has no escape for quote characters, ` +
        `so a value with all three kinds of quote (', " and \`) together with "#" or a line break cannot be written, ` +
        'nor can a few rarer combinations (see agent/render/escapers/dotenv.ts)',
      key,
    );
    t.notMatch(err.message, 'CANARY', `${key}: no part of the value in the message`);
  }
});

t.test('shell: bash and dash `.` give back every hostile value exactly', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'erlmcp.sh');
  const lines = names.map((n, i) => `export V${i}={{h.${n}}}`);
  // a second form: assignment without export, then a command on the same line
  lines.push('W={{h.commandSubstitution}}; true');
  writeFileSync(file, render(`${lines.join('\n')}\n`, 'shell'));
  for (const shell of ['bash', 'dash'] as const) {
    const got = sourceInShell(file, [...names.map((_, i) => `V${i}`), 'W'], shell);
    names.forEach((n, i) => t.equal(got[`V${i}`], HOSTILE_VALUES[n], `${shell}: ${n}`));
    t.equal(got.W, HOSTILE_VALUES.commandSubstitution, `${shell}: no command ran`);
  }
});

t.test('shell: a NUL is refused (no shell variable can hold it)', async (t) => {
  const err = renderError('export X={{h.nul}}\n', { nul: 'CANARY\0x' }, 'shell');
  t.equal(err.code, 'validation');
  t.equal(err.message, 'templates[0]: {{h.nul}} at line 1: the value of h.nul cannot be written with escape "shell": shell variables cannot hold a NUL character');
});

t.test('json: JSON.parse gives back every hostile value, and the file has no raw control or separator characters', async (t) => {
  const entries = [...names, 'nul'].map((n) => `  "${n}": {{h.${n}}}`);
  const text = render(`{\n${entries.join(',\n')}\n}\n`, 'json');
  t.same(JSON.parse(text), data.h);
  t.notMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, 'all escaped');
});

t.test('yaml: the yaml package gives back every hostile value, in block, nested and flow context', async (t) => {
  const all = [...names, 'nul'];
  const block = all.map((n) => `${n}: {{h.${n}}}`).join('\n');
  const nested = all.map((n) => `    ${n}: {{h.${n}}}`).join('\n');
  const flow = all.map((n) => `{{h.${n}}}`).join(', ');
  const text = render(`${block}\nnested:\n  deeper:\n${nested}\nflow: [${flow}]\nlist:\n${all.map((n) => `  - {{h.${n}}}`).join('\n')}\n`, 'yaml');
  for (const version of ['1.2', '1.1'] as const) {
    const doc = YAML.parseDocument(text, { version });
    t.same(doc.errors, [], `YAML ${version}: no errors`);
    const parsed = doc.toJS() as Record<string, unknown>;
    for (const n of all) t.equal(parsed[n], data.h[n as keyof typeof data.h], `YAML ${version} block: ${n}`);
    t.same((parsed.nested as { deeper: unknown }).deeper, data.h, `YAML ${version} nested`);
    t.same(parsed.flow, all.map((n) => data.h[n as keyof typeof data.h]), `YAML ${version} flow sequence`);
    t.same(parsed.list, all.map((n) => data.h[n as keyof typeof data.h]), `YAML ${version} block sequence`);
  }
});

t.test('erlang: file:consult/1 in a real erl gives back every value as its exact UTF-8 bytes', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'sys.config');
  const all = [...names, 'nul'];
  writeFileSync(file, render(`${all.map((n) => `{${n}, {{h.${n}}}}.`).join('\n')}\n[{{h.unicode}}, {{h.emoji}}].\n`, 'erlang'));
  const terms = consultErlang(file);
  t.equal(terms.length, all.length + 1);
  all.forEach((n, i) => {
    const term = terms[i] as { tuple: [{ atom: string }, Buffer] };
    t.equal(term.tuple[0].atom, n);
    t.same(term.tuple[1], Buffer.from(data.h[n as keyof typeof data.h], 'utf8'), n);
  });
  t.same(terms[all.length], [Buffer.from(HOSTILE_VALUES.unicode ?? ''), Buffer.from(HOSTILE_VALUES.emoji ?? '')], 'inside a list');
});

t.test('erlang: the file is pure ASCII and ASCII values need no /utf8', async (t) => {
  const text = render('{a, {{h.emoji}}}.\n{b, {{h.doubleQuote}}}.\n', 'erlang');
  t.match(text, /^[\x20-\x7e\n]*$/, 'ASCII only');
  t.equal(text, '{a, <<"\\x{1F511}\\x{1F600}\\x{1F44D}\\x{1F3FD}"/utf8>>}.\n{b, <<"pa\\"ss">>}.\n');
});

t.test('every mode refuses a lone surrogate (it cannot be written as UTF-8)', async (t) => {
  for (const escape of ['none', 'dotenv', 'shell', 'json', 'yaml', 'erlang'] as const) {
    const err = renderError('{{h.bad}}', { bad: 'CANARY\ud800' }, escape);
    t.equal(err.code, 'validation', escape);
    t.equal(
      err.message,
      `templates[0]: {{h.bad}} at line 1: the value of h.bad cannot be written with escape "${escape}": it is not well-formed Unicode (it has a lone UTF-16 surrogate), so it cannot be written as UTF-8`,
    );
  }
});
