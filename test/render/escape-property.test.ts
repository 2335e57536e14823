// Seeded random property tests: a few hundred strings over a hostile
// alphabet per mode, each either read back exactly by the real consumer or
// refused with a 'validation' error. bash, dash and erl run once per mode, on a
// file holding every case.

import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import dotenv from 'dotenv';
import YAML from 'yaml';
import { escapeValue, parseTemplate, renderTemplate } from '../../agent/render/index.ts';
import type { Escape } from '../../agent/config/schema.ts';
import { HOSTILE_ALPHABET, randomString, seededRandom, showValue } from '../helpers/seeded-strings.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { sourceInShell } from '../helpers/shell-source.ts';

const CASES = 300;
const MAX_PIECES = 14;

function cases(seed: number): string[] {
  const rand = seededRandom(seed);
  const out = ['', ...HOSTILE_ALPHABET]; // every piece alone, then random mixes
  while (out.length < CASES) out.push(randomString(rand, HOSTILE_ALPHABET, MAX_PIECES));
  return out;
}

/** Renders one template holding every case as h.v0, h.v1, ... through the public API. */
function renderAll(values: string[], line: (i: number) => string, escape: Escape, prefix = '', suffix = ''): string {
  const text = `${prefix}${values.map((_, i) => line(i)).join('\n')}\n${suffix}`;
  const data = { h: Object.fromEntries(values.map((v, i) => [`v${i}`, v])) };
  return renderTemplate(parseTemplate(text, 'property'), data, escape);
}

// Lines after each value whose quotes would end a run-away quoted value early
// (or late): a value that escapes its quotes shows up as a changed neighbour.
const NEIGHBOURS = [
  [`Na='#'`, `Nb="#"`, 'Nc=`#`'],
  [`Na=' #'`, `Nb=" # "`, 'Nc=` #`'],
  [`Na='x'`, `Nb=""`, 'Nc=``'],
];

t.test('dotenv (seed 101): written values parse back exactly; refused ones have no working quoting', async (t) => {
  const all = cases(101);
  const written = all.filter((v) => escapeValue(v, 'dotenv').ok);
  const refused = all.filter((v) => !escapeValue(v, 'dotenv').ok);
  for (const [n, neighbours] of NEIGHBOURS.entries()) {
    const text = renderAll(written, (i) => `V${i}={{h.v${i}}}\n${neighbours.map((line) => line.replace('=', `${i}=`)).join('\n')}`, 'dotenv');
    const expected = dotenv.parse(neighbours.join('\n'));
    for (const fast of [false, true]) {
      const parsed = dotenv.parse(text, { fast });
      let exact = 0;
      written.forEach((v, i) => {
        const same = parsed[`V${i}`] === v && ['Na', 'Nb', 'Nc'].every((k) => parsed[`${k}${i}`] === expected[k]);
        if (same) exact++;
        else t.fail(`case ${i} ${showValue(v)} (neighbours ${n}, fast: ${fast}) came back as ${showValue(parsed[`V${i}`] ?? '<missing>')}`);
      });
      t.equal(exact, written.length, `all ${written.length} written values and their neighbours exact (neighbours ${n}, fast parser: ${fast})`);
      t.equal(Object.keys(parsed).length, written.length * 4, 'no variable lost or invented');
    }
  }

  // A refusal is justified when no plain form survives both parsers in the
  // same hostile surroundings.
  const candidates = (v: string) => [`'${v}'`, `"${v}"`, `"${v.replaceAll('\n', '\\n').replaceAll('\r', '\\r')}"`, `\`${v}\``, v];
  let justified = 0;
  for (const v of refused) {
    const works = candidates(v).some((c) =>
      [false, true].every((fast) => {
        const p = dotenv.parse(`V=${c}\nNa='#'\nNb="#"\nNc=\`#\`\n`, { fast });
        return p.V === v && p.Na === '#' && p.Nb === '#' && p.Nc === '#';
      }),
    );
    if (works) t.fail(`refused ${showValue(v)} but a plain quoting round-trips`);
    else justified++;
  }
  t.equal(justified, refused.length, 'every refusal justified');
  t.ok(written.length > refused.length * 10, 'the hostile alphabet is mostly writable');
  t.comment(`dotenv: ${written.length} of ${all.length} hostile values written, ${refused.length} refused`);
});

t.test('dotenv (seed 111): generated secrets (base64, base64url, hex, alphanumeric) are always written, single-quoted', async (t) => {
  const rand = seededRandom(111);
  const base64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';
  const alphabets = [base64, `${base64}-_`, '0123456789abcdef'];
  const values = Array.from({ length: CASES }, (_, i) => randomString(rand, [...(alphabets[i % alphabets.length] ?? '')], 88));
  const text = renderAll(values, (i) => `V${i}={{h.v${i}}}`, 'dotenv');
  const parsed = dotenv.parse(text);
  t.same(values.map((_, i) => parsed[`V${i}`]), values);
  t.ok(values.every((v) => escapeValue(v, 'dotenv').ok && (escapeValue(v, 'dotenv') as { text: string }).text === `'${v}'`), 'all single-quoted');
});

t.test('shell (seed 202): bash and dash give back every value; only NUL is refused', async (t) => {
  const all = cases(202);
  const written = all.filter((v) => !v.includes('\0'));
  const misjudged = all.filter((v) => escapeValue(v, 'shell').ok === v.includes('\0')).map(showValue);
  t.same(misjudged, [], 'refused exactly when the value has a NUL');
  const dir = t.testdir();
  const file = join(dir, 'env.sh');
  writeFileSync(file, renderAll(written, (i) => `export V${i}={{h.v${i}}}`, 'shell'));
  for (const shell of ['bash', 'dash'] as const) {
    const got = sourceInShell(file, written.map((_, i) => `V${i}`), shell);
    const wrong = written.filter((v, i) => got[`V${i}`] !== v);
    t.same(wrong, [], `${shell}: all ${written.length} values exact after sourcing`);
  }
});

t.test('json (seed 303): JSON.parse gives back every value', async (t) => {
  const all = cases(303);
  const text = renderAll(all, (i) => `${i === 0 ? '' : ','}{{h.v${i}}}`, 'json', '[', ']');
  t.same(JSON.parse(text), all);
  t.notMatch(text.replace(/\n/g, ''), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, 'no raw controls or separators');
});

t.test('yaml (seed 404): the yaml package gives back every value', async (t) => {
  const all = cases(404);
  const text = renderAll(all, (i) => `  k${i}: {{h.v${i}}}`, 'yaml', 'map:\n');
  const doc = YAML.parseDocument(text);
  t.same(doc.errors, []);
  const map = (doc.toJS() as { map: Record<string, string> }).map;
  t.same(all.map((_, i) => map[`k${i}`]), all);
});

t.test('erlang (seed 505): one erl file:consult/1 gives back every value as UTF-8 bytes', async (t) => {
  const all = cases(505);
  const dir = t.testdir();
  const file = join(dir, 'values.config');
  writeFileSync(file, renderAll(all, (i) => `{{h.v${i}}}.`, 'erlang'));
  const terms = consultErlang(file);
  t.equal(terms.length, all.length);
  const wrong = all.filter((v, i) => !Buffer.from(v, 'utf8').equals(terms[i] as Buffer));
  t.same(wrong, [], `all ${all.length} values exact`);
});
