// The init gate through the real CLI against the Vault fake: exit codes 0, 3
// and 4 with the exact messages an operator reads, the bundle copied alone
// into an empty folder, and canary values on every path.

import t from 'tap';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { BUNDLE, runCli, type CliRun } from '../helpers/cli.ts';

const CANARY = {
  password: 'CANARY-vault-pw-51c0ffee-"\'$\\n# x',
  cookie: 'CANARYvaultCookie7d1e2f3a4b5c6d',
  jwt: 'CANARY-vault-jwt-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d',
  token: 'hvs.CANARYtoken0123456789abcdef',
  dynamic: 'CANARY-dyn',
};

function leaks(run: CliRun, extra: string[] = []): string[] {
  const out = run.stdout + run.stderr;
  return [...Object.values(CANARY), ...extra].filter((v) => out.includes(v) || out.includes(JSON.stringify(v).slice(1, -1)));
}

async function setup(t: { teardown(f: () => unknown): void }, mutate?: (v: VaultFake) => void) {
  const vault = await startVaultFake({ rootToken: CANARY.token });
  t.teardown(() => vault.close());
  vault.putKv('secret/database/erlmcp', { host: 'postgres', port: '5432', database: 'erlmcp', username: 'erlmcp', password: CANARY.password });
  vault.putKv('secret/erlang/cookie', { value: CANARY.cookie });
  vault.putKv('secret/auth/jwt', { secret: CANARY.jwt });
  vault.setPolicy('erlmcp', { 'secret/data/database/erlmcp': ['read'], 'secret/data/erlang/cookie': ['read'], 'secret/data/auth/*': ['read'] });
  const token = vault.createToken({ policies: ['erlmcp'] });
  mutate?.(vault);
  const dir = mkdtempSync(path.join(tmpdir(), 'vault-gate-'));
  writeFileSync(path.join(dir, 'token'), token);
  return { vault, dir, token };
}

function config(dir: string, address: string, extra = ''): string {
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    `providers:
  vault: { type: vault, address: "${address}", auth: { method: token, tokenFile: ./token } }
secrets:
  db:
    provider: vault
    path: secret/data/database/erlmcp
    require: { username: {}, password: { minLength: 16 }, host: {}, port: {}, database: {} }
  cookie:
    provider: vault
    path: secret/data/erlang/cookie
    require: { value: { minLength: 20, pattern: '^[A-Za-z0-9+/=_-]+$' } }
  jwt:
    provider: vault
    path: secret/data/auth/jwt
    require: { secret: { minLength: 32 } }
output: { root: ./out }
templates:
  - { contents: "ERLMCP_DB_PASSWORD={{db.password}}\\nERLMCP_JWT_SECRET={{jwt.secret}}\\n", destination: erlmcp.env }
  - { contents: "{{cookie.value}}", destination: erlang.cookie }
init: { timeout: 1500ms, backoff: { initial: 100ms, max: 400ms } }
${extra}`,
  );
  return file;
}

t.test('exit 0 from the bundle copied alone into an empty folder', async (t) => {
  const { vault, dir } = await setup(t);
  const alone = mkdtempSync(path.join(tmpdir(), 'bundle-alone-'));
  copyFileSync(BUNDLE, path.join(alone, 'erlmcp-secrets.js'));
  t.same(readdirSync(alone), ['erlmcp-secrets.js'], 'nothing else beside it');
  const run = await runCli(['init', '-c', config(dir, vault.url), '--log-level', 'debug'], {
    program: path.join(alone, 'erlmcp-secrets.js'),
    cwd: alone,
    env: { ERLMCP_SECRETS_CODE_CACHE: path.join(alone, 'cache') },
  });
  t.equal(run.code, 0, run.stderr);
  t.same(dotenv.parse(readFileSync(path.join(dir, 'out/erlmcp.env'))), { ERLMCP_DB_PASSWORD: CANARY.password, ERLMCP_JWT_SECRET: CANARY.jwt });
  t.equal(readFileSync(path.join(dir, 'out/erlang.cookie'), 'utf8'), CANARY.cookie);
  t.equal(statSync(path.join(dir, 'out/erlang.cookie')).mode & 0o777, 0o400);
  t.same(leaks(run), [], 'no secret value or token in any output');
  t.same(run.logs.filter((l) => l.audit).map((l) => [l.secret, l.version, l.outcome]).sort(), [['cookie', '1', 'ok'], ['db', '1', 'ok'], ['jwt', '1', 'ok']]);
  // a second run uses the code cache the first one wrote
  t.ok(existsSync(path.join(alone, 'cache')), 'code cache written');
  const again = await runCli(['init', '-c', path.join(dir, 'agent.yaml')], { program: path.join(alone, 'erlmcp-secrets.js'), cwd: alone, env: { ERLMCP_SECRETS_CODE_CACHE: path.join(alone, 'cache') } });
  t.equal(again.code, 0, again.stderr);
});

t.test('exit 3: missing path, soft-deleted version, missing key, broken rule — all in one report', async (t) => {
  const { vault, dir } = await setup(t, (v) => {
    v.putKv('secret/auth/jwt', { secret: 'CANARY-short' });
    v.deleteKv('secret/erlang/cookie');
    v.putKv('secret/database/erlmcp', { host: 'postgres', port: '5432', database: 'erlmcp', username: 'erlmcp' });
  });
  const run = await runCli(['init', '-c', config(dir, vault.url), '--log-level', 'trace']);
  t.equal(run.code, 3, run.stderr);
  t.same(run.problems.map((p) => p.replace(/at \S+Z/, 'at <time>')).sort(), [
    'cookie: vault provider "vault": version 1 of secret/data/erlang/cookie was deleted at <time>; undelete it or write a new version',
    'db.password: is missing (the secret has: database, host, port, username)',
    'jwt.secret: shorter than 32 characters',
  ]);
  t.same(leaks(run, ['CANARY-short']), []);
  t.notOk(existsSync(path.join(dir, 'out')), 'nothing rendered');
});

t.test('exit 4: permission denied names the policy path, at once and without retrying', async (t) => {
  const { vault, dir } = await setup(t, (v) => v.setPolicy('erlmcp', { 'secret/data/database/erlmcp': ['read'], 'secret/data/auth/*': ['read'] }));
  const run = await runCli(['init', '-c', config(dir, vault.url)]);
  t.equal(run.code, 4, run.stderr);
  t.equal(run.problems.length, 1, run.problems.join('\n'));
  t.equal(run.problems[0], 'cookie: vault provider "vault": permission denied reading secret/data/erlang/cookie: the token\'s policies must grant read on it: path "secret/data/erlang/cookie" { capabilities = ["read"] }');
  t.equal(vault.count('/v1/secret/data/erlang/cookie'), 1, 'a 403 is not retried');
  t.same(leaks(run), []);
});

t.test('exit 4: a sealed Vault is retried with backoff until init.timeout, then named', async (t) => {
  const { vault, dir } = await setup(t, (v) => v.setMode('sealed'));
  const started = Date.now();
  const run = await runCli(['init', '-c', config(dir, vault.url)]);
  t.equal(run.code, 4, run.stderr);
  t.ok(Date.now() - started >= 1400, 'waited for init.timeout');
  t.equal(run.problems.length, 3);
  for (const p of run.problems) {
    t.match(p, new RegExp(`^(db|cookie|jwt): still failing after \\d+ attempts in \\S+ \\(init.timeout 1500ms\\): vault provider "vault": Vault at ${vault.url.replace(/[.]/g, '\\.')} is sealed`));
  }
  const retries = run.logs.filter((l) => l.msg === 'secret fetch failed, will retry');
  t.ok(retries.length >= 6, `retried (${retries.length} retries logged)`);
  t.same(leaks(run), []);
});

t.test('exit 4: connection refused names the address', async (t) => {
  const { vault, dir } = await setup(t);
  const url = vault.url;
  await vault.close();
  const run = await runCli(['init', '-c', config(dir, url)]);
  t.equal(run.code, 4, run.stderr);
  t.match(run.problems[0], new RegExp(`still failing after \\d+ attempts .*${url.replace(/[.]/g, '\\.').replace('http://', '')}`));
  t.same(leaks(run), []);
});

t.test('exit 4: a revoked token is an auth failure', async (t) => {
  const { vault, dir, token } = await setup(t);
  vault.revokeToken(token);
  const run = await runCli(['init', '-c', config(dir, vault.url), '--log-level', 'trace']);
  t.equal(run.code, 4, run.stderr);
  t.ok(run.problems.length >= 1);
  t.same(leaks(run, [token]), [], 'the token itself never appears');
});
