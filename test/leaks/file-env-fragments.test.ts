// Leak: an .env secrets file with a multi-line value left unquoted (a PEM key
// pasted as is). dotenv drops the lines it cannot read as KEY=value, but a
// base64 line ending in "=" padding reads as KEY=value: a slice of the key
// material became a key NAME, and key names are listed in messages ("is
// missing (the secret has: ...)", "keys: ..."). The value itself was silently
// cut to its first line. Now the file is refused, naming lines only.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { fetchSecret, fixture } from '../helpers/file-provider-fixture.ts';
import { HOSTILE_VALUES } from '../helpers/hostile-values.ts';
import { HOSTILE_ALPHABET, randomString, seededRandom } from '../helpers/seeded-strings.ts';
import { escapeValue } from '../../agent/render/escape.ts';
import { parseEnv } from '../../agent/providers/file/parse-env.ts';

const PW = 'CANARYenvPw-Mk31Tq8Z';
const BODY = 'MIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEAq7CANARYpemBody';
const TAIL = 'CANARYpemTail-Zr8Kw2Qx';
const UNQUOTED_PEM = `DB_PASSWORD=${PW}\nTLS_KEY=-----BEGIN PRIVATE KEY-----\n${BODY}\n${TAIL}==\n-----END PRIVATE KEY-----\n`;
const SECRETS = [PW, BODY, TAIL];

t.test('init: a missing-key report does not list a slice of an unquoted PEM as a key name', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leak-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 's'));
  writeFileSync(join(dir, 's/db.env'), UNQUOTED_PEM);
  writeFileSync(
    join(dir, 'agent.yaml'),
    `providers: { local: { type: file, path: ./s } }
secrets: { db: { provider: local, require: { TLS_CRT: {}, TLS_KEY: {} } } }
templates: [ { contents: "{{db.TLS_KEY}}", destination: key.pem } ]
output: { root: ./out }
server: { enabled: false }
`,
  );
  const run = await runCli(['init', '-c', join(dir, 'agent.yaml'), '--log-level', 'debug']);
  t.equal(run.code, 3, 'a malformed secrets file is a validation failure');
  t.same(run.problems, [
    'db: ./s/db.env is not a valid .env file: lines 3, 5 are not KEY=value, a comment or blank, so dotenv would drop them; a value that spans lines (a PEM key, say) must be in double quotes',
  ]);
  assertNoLeak(t, [run.stdout, run.stderr], SECRETS);
});

t.test('the file provider: which lines are refused, and what still parses', async (t) => {
  const f = fixture(t);
  f.write('s/a.env', UNQUOTED_PEM);
  f.write('s/b.env', `# a comment\n\nexport A=1\nB: two\nC="multi\nline ${PW}"\nD='x' # note\n  \nE=\`tick\`\n`);
  f.write('s/c.env', `A=1\njust words ${PW}\n"${PW}"\n`);
  f.write('s/d.env', `A="unterminated ${PW}\nB=2\n`);
  const p = await f.provider('s');

  const a = await fetchSecret(p, 'a').catch((e: unknown) => e as Error & { code?: string });
  t.match(a, { code: 'validation', message: /lines 3, 5 are not KEY=value/ });
  t.same(await fetchSecret(p, 'b').then((v) => v.data), { A: '1', B: 'two', C: `multi\nline ${PW}`, D: 'x', E: 'tick' }, 'comments, blank lines, export, KEY: value, quoted multi-line values pass');
  const c = await fetchSecret(p, 'c').catch((e: unknown) => e as Error & { code?: string });
  t.match(c, { code: 'validation', message: /: lines 2, 3 are not KEY=value/ });
  // dotenv reads an unterminated quote as a one-line value; the next line is KEY=value again
  t.same(await fetchSecret(p, 'd').then((v) => v.data), { A: `"unterminated ${PW}`, B: '2' }, 'dotenv semantics otherwise unchanged');
  assertNoLeak(t, [String(a), String((a as Error).stack), String(c), ...f.logs], SECRETS);
});

t.test("what the agent's own dotenv escaper writes is never refused, and reads back exactly", async (t) => {
  const values = [...Object.values(HOSTILE_VALUES)];
  const rand = seededRandom(0x5eed_e17);
  for (let i = 0; i < 400; i++) values.push(randomString(rand, HOSTILE_ALPHABET, 12));
  const lines: string[] = [];
  const expected: Record<string, string> = {};
  values.forEach((v, i) => {
    const escaped = escapeValue(v, 'dotenv');
    if (!escaped.ok) return; // a value dotenv cannot hold is refused at render time
    lines.push(`K${i}=${escaped.text}`);
    expected[`K${i}`] = v;
  });
  t.ok(Object.keys(expected).length > 300, 'most values can be written');
  const place = { display: 'rendered.env', abs: '/rendered.env' };
  let got: Record<string, string> | undefined;
  t.doesNotThrow(() => (got = parseEnv(`# rendered\n${lines.join('\n')}\n`, place)));
  t.same(got, expected);
});
