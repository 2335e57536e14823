// templates/erlmcp/: the files erlmcp as it is reads. Each renders with
// sample and hostile values and is read back by its real consumer (erl's
// file:consult, the dotenv parser); the pattern rules of
// examples/erlmcp/local.yaml say what a valid host, port and cookie are, and a value that
// breaks one stops the agent before anything is written, without printing it.
//
// sys.config.typed.mustache (erl.* typed sections, docs/templates.md) must
// consult to the same terms as the hand-rendered
// test/fixtures/erlmcp-typed/expected-sys.config.

import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dotenv from 'dotenv';
import { parseTemplate, renderTemplate, type SecretData } from '../../agent/render/index.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const DIR = join(ROOT, 'templates/erlmcp');
const PEM = '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----\n';
const DATA: SecretData = {
  db: { host: 'postgres.erlmcp.svc.cluster.local', port: '5432', database: 'erlmcp', user: 'erlmcp', password: `CANARY-db'pa"ss$HOME#\\n x ü` },
  cookie: { value: 'CANARYcookie+Zm9v/YmF6=_-q8Xr2Lk' },
  jwt: { kid: 'kid "2026"', 'public.pem': PEM },
  llm: { ANTHROPIC_API_KEY: 'sk-ant-CANARY-key\'"$x #y', OPENAI_API_KEY: 'sk-CANARY-openai $x' },
};

const render = (name: string, data: SecretData, escape: 'erlang' | 'dotenv'): string =>
  renderTemplate(parseTemplate(readFileSync(join(DIR, name), 'utf8'), `templates/erlmcp/${name}`), data, escape);

function consultText(text: string): unknown {
  const dir = mkdtempSync(join(tmpdir(), 'erlmcp-tpl-'));
  try {
    writeFileSync(join(dir, 'sys.config'), text);
    return consultErlang(join(dir, 'sys.config'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('sys.config: erlmcp_core db_pools with an integer port and `user`, jwt_keys, an atom cookie', async (t) => {
  const [[app]] = consultText(render('sys.config.mustache', DATA, 'erlang')) as [[{ tuple: [{ atom: string }, unknown[]] }]];
  t.same(app.tuple[0], { atom: 'erlmcp_core' });
  const env = Object.fromEntries(app.tuple[1].map((e) => { const [k, v] = (e as { tuple: [{ atom: string }, unknown] }).tuple; return [k.atom, v]; }));
  const [pool] = env.db_pools as [{ tuple: [{ atom: string }, unknown[]] }];
  t.same(pool.tuple[0], { atom: 'default' });
  const kv = Object.fromEntries(pool.tuple[1].map((e) => { const [k, v] = (e as { tuple: [{ atom: string }, unknown] }).tuple; return [k.atom, v]; }));
  t.same(kv.backend, { atom: 'postgres' });
  t.equal(kv.port, 5432, 'port: an integer');
  t.same(kv.host, [...DATA.db!.host!].map((c) => c.charCodeAt(0)), 'host: a char list');
  t.same(kv.user, Buffer.from('erlmcp'), 'user, not username');
  t.same(kv.password, Buffer.from(DATA.db!.password!, 'utf8'), 'the password, byte for byte');
  t.same(env.jwt_keys, { map: [[Buffer.from('kid "2026"'), Buffer.from(PEM)]] }, 'jwt_keys => #{Kid => PEM}');
  t.same(env.cluster_cookie, { atom: DATA.cookie!.value }, 'cluster_cookie: an atom');
});

t.test('erlmcp.env: dotenv gives back the cookie under both names and the LLM keys', async (t) => {
  const text = render('erlmcp.env.mustache', DATA, 'dotenv');
  const expected = { RELX_COOKIE: DATA.cookie!.value, ERLANG_COOKIE: DATA.cookie!.value, ANTHROPIC_API_KEY: DATA.llm!.ANTHROPIC_API_KEY, OPENAI_API_KEY: DATA.llm!.OPENAI_API_KEY };
  t.same(dotenv.parse(text), expected);
});

t.test('the example config: a value outside its pattern is refused before anything is written, and not shown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'erlmcp-example-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(ROOT, 'examples/erlmcp/sample-secrets'), join(dir, 'secrets'), { recursive: true });
  const hostile = `evil"}, {backend, mysql}, {x, "`;
  writeFileSync(join(dir, 'secrets/db.yaml'), `host: '${hostile.replace(/'/g, "''")}'\nport: "5432 "\ndatabase: erlmcp\nuser: erlmcp\npassword: SAMPLE-not-a-real-password-0000\n`);
  const cfg = join(dir, 'local.yaml');
  writeFileSync(cfg, readFileSync(join(ROOT, 'examples/erlmcp/local.yaml'), 'utf8').replace('path: ./sample-secrets', `path: ${JSON.stringify(join(dir, 'secrets'))}`).replaceAll('../../templates/', `${ROOT}/templates/`));
  const out = join(dir, 'out');
  const r = await runCli(['init', '-c', cfg], { env: { ERLMCP_SECRETS_OUTPUT_ROOT: out } });
  t.equal(r.code, 3, 'exit 3: a rule is broken');
  t.match(r.stderr, /db.*host/, 'names the secret and key');
  t.match(r.stderr, /db.*port/, 'the port with a trailing space too');
  assertNoLeak(t, [r.stdout, r.stderr], [hostile, 'SAMPLE-not-a-real-password-0000', 'SAMPLEcookieNOTFORPRODUCTION0000'], 10);
  t.throws(() => readFileSync(join(out, 'erlmcp/sys.config')), 'nothing was written');
});

t.test('ERLMCP_SECRETS_OUTPUT_ROOT moves the output of the unchanged example', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'erlmcp-root-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const r = await runCli(['init', '-c', join(ROOT, 'examples/erlmcp/local.yaml')], { env: { ERLMCP_SECRETS_OUTPUT_ROOT: out } });
  t.equal(r.code, 0, r.problems.join('; '));
  for (const f of ['erlmcp/sys.config', 'erlmcp/erlmcp.env', 'erlmcp/erlang.cookie', 'home/.erlang.cookie', 'tls.crt', 'tls.key', 'tls-ca.crt', 'erlmcp/tls/server.crt', 'erlmcp/tls/server.key', 'erlmcp/tls/ca.crt', 'erlmcp/jwt/public.pem']) {
    t.ok(readFileSync(join(out, f)).length > 0, `${f} rendered under the override`);
  }
  t.equal(readFileSync(join(out, 'home/.erlang.cookie'), 'latin1'), 'SAMPLEcookieNOTFORPRODUCTION0000', 'the bare cookie, no newline');
  assertNoLeak(t, [r.stdout, r.stderr], ['SAMPLE-not-a-real-password-0000', 'SAMPLEcookieNOTFORPRODUCTION0000', 'sk-ant-SAMPLE-not-a-real-key-0000'], 10);
  const vault = await runCli(['check', '-c', join(ROOT, 'examples/erlmcp/agent.yaml')], { env: {} });
  t.match(vault.stderr, /cannot read \/usr\/share\/erlmcp-secrets\/templates\/erlmcp\/sys\.config\.typed\.mustache/, 'agent.yaml names the image paths of the templates');
});

const TYPED_DATA: SecretData = {
  db: { host: 'db-1.erlmcp.svc', port: '6432', database: 'erlmcp', user: 'mcp user', password: `CANARY-typed'pa"ss\\ x` },
  cookie: { value: 'CANARYtypedCookie0123456789' },
  jwt: { kid: 'kid-1', 'public.pem': '-----BEGIN PUBLIC KEY-----\nSAMPLE\n-----END PUBLIC KEY-----\n' },
};

t.test('sys.config.typed.mustache: the same terms as the hand-rendered file; a value that is not of its type is refused, unprinted', async (t) => {
  const template = parseTemplate(readFileSync(join(DIR, 'sys.config.typed.mustache'), 'utf8'), 'templates/erlmcp/sys.config.typed.mustache');
  const rendered = renderTemplate(template, TYPED_DATA, 'erlang');
  t.same(consultText(rendered), consultErlang(join(ROOT, 'test/fixtures/erlmcp-typed/expected-sys.config')), 'the same terms as the hand-rendered file');
  const badPort = 'CANARY-port-6432';
  let refusal: Error | undefined;
  try {
    renderTemplate(template, { ...TYPED_DATA, db: { ...TYPED_DATA.db, port: badPort } }, 'erlang');
  } catch (e) {
    refusal = e as Error;
  }
  t.ok(refusal, 'a port that is not an integer is refused');
  t.match(refusal?.message, /erl\.integer/, 'the refusal names the section');
  assertNoLeak(t, [refusal?.message ?? '', JSON.stringify((refusal as { problems?: unknown } | undefined)?.problems ?? null)], [badPort]);
});
