// The init gate end to end through the real CLI on the file provider: each
// exit code of the contract with the exact message an operator reads.

import t from 'tap';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, statSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { runCli } from '../helpers/cli.ts';

const CANARY = {
  password: 'CANARY-pw-7f3a9e1b2c4d5e6f-"quote\'$HOME`x`',
  cookie: 'CANARYcookieQ8w7e6r5t4y3u2i1',
  short: 'CANARY-short-55',
};

function workspace(files: Record<string, string>, config: string): { dir: string; cfg: string; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gate-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(cfg, config);
  return { dir, cfg, out: path.join(dir, 'out') };
}

const base = (extra = '') => `
providers:
  local: { type: file, path: ./secrets }
secrets:
  db:
    provider: local
    require:
      username: {}
      password: { minLength: 16 }
  cookie:
    provider: local
    require: { value: { minLength: 20, pattern: '^[A-Za-z0-9]+$' } }
output: { root: ./out }
templates:
  - contents: "DB_USER={{db.username}}\\nDB_PASSWORD={{db.password}}\\n"
    destination: erlmcp.env
  - contents: "{{cookie.value}}"
    destination: nested/erlang.cookie
    mode: "0440"
init: { timeout: 2s }
${extra}`;

function assertNoCanary(t: { notOk(v: unknown, m: string): void }, run: { stdout: string; stderr: string }, values: string[]) {
  for (const v of values) {
    t.notOk(run.stdout.includes(v), 'value absent from stdout');
    t.notOk(run.stderr.includes(v), 'value absent from stderr');
    t.notOk(run.stderr.includes(JSON.stringify(v).slice(1, -1)), 'escaped value absent from stderr');
  }
}

t.test('exit 0: renders every template with modes, logs names and sizes only', async (t) => {
  const w = workspace({ 'secrets/db.yaml': `username: erlmcp\npassword: '${CANARY.password.replace(/'/g, "''")}'\n`, 'secrets/cookie/value': CANARY.cookie }, base());
  const run = await runCli(['init', '-c', w.cfg, '--log-level', 'trace']);
  t.equal(run.code, 0, run.stderr);
  t.same(dotenv.parse(readFileSync(path.join(w.out, 'erlmcp.env'))), { DB_USER: 'erlmcp', DB_PASSWORD: CANARY.password }, 'dotenv escaping (inferred from .env) round-trips');
  t.equal(readFileSync(path.join(w.out, 'nested/erlang.cookie'), 'utf8'), CANARY.cookie);
  t.equal(statSync(path.join(w.out, 'erlmcp.env')).mode & 0o777, 0o400);
  t.equal(statSync(path.join(w.out, 'nested/erlang.cookie')).mode & 0o777, 0o440);
  const audit = run.logs.filter((l) => l.audit === true);
  t.same(audit.map((l) => [l.secret, l.outcome]).sort(), [['cookie', 'ok'], ['db', 'ok']]);
  const written = run.logs.filter((l) => l.msg === 'template written').map((l) => [path.basename(String(l.file)), l.bytes, l.mode]);
  t.same(written.sort(), [['erlang.cookie', CANARY.cookie.length, '0440'], ['erlmcp.env', statSync(path.join(w.out, 'erlmcp.env')).size, '0400']].sort());
  assertNoCanary(t, run, [CANARY.password, CANARY.cookie]);

  const again = await runCli(['init', '-c', w.cfg]);
  t.equal(again.code, 0);
  t.same(again.logs.filter((l) => String(l.msg).startsWith('template ')).map((l) => l.msg), ['template unchanged', 'template unchanged'], 'second run writes nothing');
});

t.test('exit 2: config and template errors name file and path, before any fetch', async (t) => {
  const w = workspace({}, base().replace('provider: local\n    require:\n      username', 'provider: valt\n    require:\n      username'));
  const run = await runCli(['init', '-c', w.cfg]);
  t.equal(run.code, 2);
  t.same(run.problems, [`${w.cfg}: secrets.db.provider: unknown provider "valt" (known: local)`]);

  const w2 = workspace({}, base().replace('DB_USER={{db.username}}', 'DB_USER={{db.usernme}} {{api.key}}'));
  const run2 = await runCli(['init', '-c', w2.cfg]);
  t.equal(run2.code, 2);
  t.same(run2.problems, [
    `${w2.cfg}: templates[0] (erlmcp.env): {{db.usernme}} at line 1: secret "db" declares no key "usernme" (declared: username, password)`,
    `${w2.cfg}: templates[0] (erlmcp.env): {{api.key}} at line 1: no secret "api" is declared (declared: db, cookie)`,
  ]);
  t.notOk(run2.logs.some((l) => l.audit), 'no secret was fetched');

  const run3 = await runCli(['init']);
  t.equal(run3.code, 2);
  t.same(run3.problems, ['no config: pass -c FILE or set ERLMCP_SECRETS_CONFIG to the config\'s YAML or JSON text']);

  const run5 = await runCli(['check', '-c', w2.cfg], { env: { ERLMCP_SECRETS_CONFIG: 'providers: {}' } });
  t.ok(
    run5.logs.some((l) => l.level === 'warn' && l.msg === `ERLMCP_SECRETS_CONFIG is set but ignored: -c ${w2.cfg} is the config`),
    'both -c and the variable: -c wins, and the agent says so',
  );

  const run4 = await runCli(['inti', '-c', 'x']);
  t.equal(run4.code, 2);
  t.match(run4.stderr, /^unknown command "inti"; did you mean init\? \(commands: init, run, exec, check, plan, webhook, version, erlang-call, copy-self, help\)\n/);
});

t.test('exit 3: every missing or invalid secret in one report, never a value', async (t) => {
  const w = workspace({ 'secrets/db.yaml': `username: ""\npassword: ${CANARY.short}\n`, 'secrets/cookie/value': `${CANARY.cookie}!` }, base());
  const run = await runCli(['init', '-c', w.cfg, '--log-level', 'debug']);
  t.equal(run.code, 3, run.stderr);
  t.same(run.problems.sort(), ['cookie.value: does not match the pattern ^[A-Za-z0-9]+$', 'db.password: shorter than 16 characters', 'db.username: is empty'].sort(), run.problems.join('\n'));
  t.notOk(existsSync(w.out) && readdirSync(w.out).length > 0, 'nothing rendered when the gate fails');
  assertNoCanary(t, run, [CANARY.short, `${CANARY.cookie}!`]);

  const w2 = workspace({ 'secrets/db.yaml': `username: erlmcp\n` }, base());
  const run2 = await runCli(['init', '-c', w2.cfg]);
  t.equal(run2.code, 3);
  t.same(run2.problems.sort(), [
    'cookie: no secret "cookie" under ./secrets: tried cookie/, cookie.json, cookie.yaml, cookie.yml, cookie.env, cookie',
    'db.password: is missing (the secret has: username)',
  ]);
});

t.test('check: no backend call, summary on stdout', async (t) => {
  // the provider's directory exists but holds no secret: check starts the provider, reads nothing
  const w = workspace({ 'secrets/.keep': '' }, base());
  const run = await runCli(['check', '-c', w.cfg]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, `${w.cfg}: ok: 1 provider, 2 secrets, 2 templates, 0 reload notifiers\n`);
  // without the directory, init stops before fetching (exit 2), and so does check
  const none = workspace({}, base());
  for (const command of ['check', 'init']) {
    const r = await runCli([command, '-c', none.cfg]);
    t.equal(r.code, 2, `${command}: exit 2 when the provider's directory is missing`);
    t.match(r.problems.join('\n'), /providers\.local\.path: \.\/secrets does not exist/);
  }
});

t.test('version', async (t) => {
  const run = await runCli(['version']);
  t.equal(run.code, 0);
  t.match(run.stdout, /^erlmcp-secrets \d+\.\d+\.\d+ \(node v24\./);
});
