// End to end with a real Erlang node: `erlmcp-secrets run` (the real CLI)
// renders a dotenv file from the Vault fake; a BEAM runs
// erlmcp_secrets_reload (templates/erlang/), whose SIGHUP handler re-reads
// that file. The test changes the secret in Vault and waits for the node to
// see the new value, once per notifier kind: signal (SIGHUP to the node's
// pid), exec (a script that sends the SIGHUP), http (an endpoint inside the
// node that reloads).

import t, { type Test } from 'tap';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startVaultFake } from '../fakes/vault/index.ts';
import { startAgent, waitUntil } from '../helpers/agent-process.ts';
import { freePort } from '../helpers/erlang-node.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const MODULE = resolve(import.meta.dirname, '../../templates/erlang/erlmcp_secrets_reload.erl');
const HTTP_STUB = resolve(import.meta.dirname, 'reload_http_stub.erl');
const V1 = 'canary-E2E-First-Value-Tn6Rk3';
const V2 = 'canary-E2E-Second-Value-Gm1Wz8';

const beamDir = mkdtempSync(join(tmpdir(), 'e2e-beam-'));
t.teardown(() => rmSync(beamDir, { recursive: true, force: true }));
execFileSync('erlc', ['-o', beamDir, MODULE, HTTP_STUB]);

async function scenario(t: Test, kind: 'signal' | 'exec' | 'http'): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `e2e-${kind}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const vault = await startVaultFake({ now: Date.now });
  t.teardown(() => vault.close());
  vault.putKv('secret/db', { password: V1 });
  writeFileSync(join(dir, 'token'), vault.rootToken);
  const pidFile = join(dir, 'node.pid');
  const envFile = join(dir, 'out/erlmcp.env');
  const seen = join(dir, 'seen');
  const port = await freePort();
  const reload = {
    signal: `{ type: signal, pidFile: "${pidFile}", beamHandlerInstalled: true }`,
    exec: `{ type: exec, command: [sh, -c, 'kill -HUP "$(cat "${pidFile}")"'] }`,
    http: `{ type: http, url: "http://127.0.0.1:${port}/reload", expectStatus: 200, retries: 0 }`,
  }[kind];
  writeFileSync(
    join(dir, 'agent.yaml'),
    `providers: { vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ./token } } }
secrets: { db: { provider: vault, path: secret/data/db } }
templates: [ { contents: "DB_USER=erlmcp\\nDB_PASSWORD={{db.password}}\\n", destination: erlmcp.env, escape: dotenv } ]
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 1s, jitter: 0 }
reload: [ ${reload} ]
`,
  );
  const agent = startAgent(t, ['run', '-c', join(dir, 'agent.yaml')]);
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');

  const install = `ok = erlmcp_secrets_reload:install(#{env_files => ["${envFile}"], load_now => true, callback => fun(#{env := E}) -> file:write_file("${seen}", [maps:get("DB_PASSWORD", E), "|", os:getenv("DB_PASSWORD")]) end})`;
  const http = kind === 'http' ? `, ok = reload_http_stub:start(${port})` : '';
  const node = spawn('erl', ['-noshell', '-pa', beamDir, '-eval', `${install}${http}, ok = file:write_file("${pidFile}", os:getpid()), io:format("ready~n").`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let nodeOut = '';
  node.stdout.on('data', (b: Buffer) => (nodeOut += b.toString()));
  node.stderr.on('data', (b: Buffer) => (nodeOut += b.toString()));
  t.teardown(() => void node.kill('SIGKILL'));
  await waitUntil(() => nodeOut.includes('ready'), 'erl started', 20_000);
  await waitUntil(() => existsSync(seen) && readFileSync(seen, 'utf8') === `${V1}|${V1}`, 'node loaded the first value');

  const mark = agent.logs.length;
  vault.putKv('secret/db', { password: V2 });
  await waitUntil(() => readFileSync(seen, 'utf8') === `${V2}|${V2}`, 'node sees the new value', 15_000);
  t.pass(`${kind}: the node sees the new value (callback and os:getenv)`);
  t.equal(readFileSync(envFile, 'utf8'), `DB_USER=erlmcp\nDB_PASSWORD='${V2}'\n`, 'the rendered file (dotenv-quoted)');
  const done = await agent.waitForLog((l) => l.msg === 'template written', 'written', 5000, mark);
  t.ok(done, 'the agent re-rendered once');
  t.equal(node.exitCode, null, 'the node is still running');
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr(), nodeOut], [V1, V2, vault.rootToken]);
}

t.test('signal notifier: SIGHUP makes the node re-read the rendered file', (t) => scenario(t, 'signal'));
t.test('exec notifier: a script signals the node', (t) => scenario(t, 'exec'));
t.test('http notifier: an endpoint in the node reloads it', (t) => scenario(t, 'http'));
