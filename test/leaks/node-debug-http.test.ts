// Leak: with NODE_DEBUG=http (what an operator sets to debug connectivity),
// Node's http agent prints the options of every new connection to stderr,
// headers included, so the Vault token (X-Vault-Token) was printed in clear.
// The Vault transport then set its headers on the request after creating it,
// which that debug output does not show; it now writes HTTP/1.1 on a node:net
// socket of its own (agent/providers/vault/http1.ts), and what Node prints for
// NODE_DEBUG=net/tls (connection options: host, port, socket flags) holds no
// header either. (Node prints no bodies, so login credentials in request
// bodies were never affected.)

import t, { type Test } from 'tap';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startVaultFake } from '../fakes/vault/index.ts';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const ROOT_TOKEN = 'hvs.CANARYdebugRoot-Qx81Zt40';
const VALUE = 'CANARYdebugValue-Wm27Lp93';
const SECRET_ID = 'CANARYdebugSecretId-Hv65Nr12';
const NODE_DEBUG = 'http,https,net,tls,http2';

async function setup(t: Test) {
  const vault = await startVaultFake({ rootToken: ROOT_TOKEN });
  t.teardown(() => vault.close());
  vault.putKv('secret/app', { password: VALUE });
  vault.setPolicy('app', { 'secret/data/app': ['read'] });
  const dir = mkdtempSync(path.join(tmpdir(), 'leak-node-debug-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { vault, dir };
}

function writeConfig(dir: string, address: string, auth: string): string {
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    `providers:
  vault: { type: vault, address: "${address}", auth: ${auth} }
secrets: { app: { provider: vault, path: secret/data/app } }
templates: [ { contents: "{{app.password}}", destination: pw.txt } ]
output: { root: ./out }
`,
  );
  return file;
}

t.test('token auth: the token is not in the http debug output', async (t) => {
  const { vault, dir } = await setup(t);
  const token = vault.createToken({ policies: ['app'] });
  writeFileSync(path.join(dir, 'token'), token);
  const run = await runCli(['init', '-c', writeConfig(dir, vault.url, '{ method: token, tokenFile: ./token }'), '--log-level', 'trace'], { env: { NODE_DEBUG } });
  t.equal(run.code, 0, 'init succeeds');
  t.match(run.stderr, /^NET \d+: createConnection/m, "precondition: Node printed its debug lines for the transport's connection");
  t.notMatch(run.stderr, /x-vault-token/i, 'no token header in the output');
  assertNoLeak(t, [run.stdout, run.stderr], [token, ROOT_TOKEN, VALUE]);
});

t.test('approle auth: neither the secret ID nor the token it buys', async (t) => {
  const { vault, dir } = await setup(t);
  vault.addAppRole('app', { roleId: 'role-id-debug', secretIds: [SECRET_ID], policies: ['app'] });
  writeFileSync(path.join(dir, 'role'), 'role-id-debug');
  writeFileSync(path.join(dir, 'secret'), SECRET_ID);
  const run = await runCli(['init', '-c', writeConfig(dir, vault.url, '{ method: approle, roleIdFile: role, secretIdFile: secret }'), '--log-level', 'trace'], { env: { NODE_DEBUG } });
  t.equal(run.code, 0, 'init succeeds');
  t.ok(vault.requests.some((r) => r.hadToken && r.path === '/v1/secret/data/app'), 'precondition: the read carried the token the login issued');
  // the issued token is not known to the test: no Vault token of any kind may show
  t.notMatch(run.stderr, /hvs\.[A-Za-z0-9_-]{8}/, 'no hvs. token in the output');
  t.notMatch(run.stderr, /x-vault-token/i, 'no token header in the output');
  assertNoLeak(t, [run.stdout, run.stderr], [SECRET_ID, VALUE]);
});

t.test('a token file with a line break inside: refused before any request, named by file, never printed', async (t) => {
  const { vault, dir } = await setup(t);
  const half1 = 'hvs.CANARYbrokenA-Re30Kd71';
  const half2 = 'CANARYbrokenB-Uw84Pf26';
  writeFileSync(path.join(dir, 'token'), `${half1}\n${half2}\n`);
  const cfg = writeConfig(dir, vault.url, '{ method: token, tokenFile: ./token }');
  appendFileSync(cfg, 'init: { timeout: 1s }\n');
  const run = await runCli(['init', '-c', cfg, '--log-level', 'trace'], { env: { NODE_DEBUG } });
  t.equal(run.code, 4, 'an auth error, at once: no retry as if Vault were down');
  t.match(run.problems.join('\n'), /auth\.tokenFile .*\/token holds a line break, space or control character inside its value/);
  t.equal(vault.requests.length, 0, 'no request was made');
  assertNoLeak(t, [run.stdout, run.stderr], [half1, half2, VALUE]);
});
