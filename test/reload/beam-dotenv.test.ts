// The Erlang reload handler must read back every value the agent's dotenv
// escaping writes, byte for byte: the same contract the agent's own tests
// check against the `dotenv` package. Hostile values plus seeded random ones
// go through escapeValue(v, 'dotenv') into one env file, a real BEAM parses
// it with erlmcp_secrets_reload:parse_env/1 and prints each value as hex.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import dotenv from 'dotenv';
import { escapeValue } from '../../agent/render/escape.ts';
import { HOSTILE_VALUES } from '../helpers/hostile-values.ts';
import { HOSTILE_ALPHABET, randomString, seededRandom } from '../helpers/seeded-strings.ts';

const MODULE = resolve(import.meta.dirname, '../../templates/erlang/erlmcp_secrets_reload.erl');
const dir = mkdtempSync(join(tmpdir(), 'beam-dotenv-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
execFileSync('erlc', ['-o', dir, MODULE]);

const values = new Map<string, string>();
for (const [name, v] of Object.entries(HOSTILE_VALUES)) values.set(`H_${name}`, v);
const rand = seededRandom(20261129);
for (let i = 0; i < 400; i++) values.set(`R_${i}`, randomString(rand, HOSTILE_ALPHABET, 12));

const lines: string[] = ['# rendered by the agent (escape: dotenv)'];
const written = new Map<string, string>();
let refused = 0;
for (const [k, v] of values) {
  const e = escapeValue(v, 'dotenv');
  if (!e.ok) {
    refused++;
    continue;
  }
  written.set(k, v);
  lines.push(`${k}=${e.text}`);
}
const envFile = join(dir, 'all.env');
writeFileSync(envFile, `${lines.join('\n')}\n`);

const out = execFileSync(
  'erl',
  ['-noshell', '-pa', dir, '-eval', `{ok, B} = file:read_file("${envFile}"), {ok, M} = erlmcp_secrets_reload:parse_env(B), [io:format("~s=~s~n", [K, binary:encode_hex(unicode:characters_to_binary(V))]) || {K, V} <- lists:sort(maps:to_list(M))], halt().`],
  { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
);
const parsed = new Map(out.trim().split('\n').map((l) => {
  const i = l.indexOf('=');
  return [l.slice(0, i), Buffer.from(l.slice(i + 1), 'hex').toString('utf8')] as const;
}));

t.test('the escaping covers most values (the rest are refused, never garbled)', async (t) => {
  t.ok(written.size > 300, `${written.size} written, ${refused} refused`);
});

t.test('dotenv itself reads every written value back (sanity of the fixture)', async (t) => {
  const js = dotenv.parse(`${lines.join('\n')}\n`);
  const wrong = [...written].filter(([k, v]) => js[k] !== v).map(([k]) => k);
  t.same(wrong, []);
});

t.test('the Erlang handler reads every written value back exactly', async (t) => {
  t.same([...parsed.keys()].sort(), [...written.keys()].sort(), 'same variables');
  const wrong = [...written].filter(([k, v]) => parsed.get(k) !== v).map(([k]) => `${k}: ${JSON.stringify(written.get(k))} read as ${JSON.stringify(parsed.get(k))}`);
  t.same(wrong, [], 'no value differs');
});
