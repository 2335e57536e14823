// End to end through the real CLI: `erlmcp-secrets run` (a child process)
// renders a term file and the node's cookie from the Vault fake; a real
// Erlang node runs erlang_reload_stub, whose reload/0 re-reads that file.
// When the secret changes in Vault, the agent re-renders and calls
// erlang_reload_stub:reload() over the distribution protocol, and the node
// ends up holding the new value. Then the cookie rotates in Vault too: the
// node still runs with the old one, and the agent reaches it with that.

import t from 'tap';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { atom, type Term } from '../../agent/erldist/terms.ts';
import { startVaultFake } from '../fakes/vault/index.ts';
import { ENTRY, ROOT } from '../helpers/cli.ts';
import { ErlangNodes, uniqueName } from '../helpers/erlang-node.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = {
  key1: 'CANARY-e2e-api-key-one-4c1d9e',
  key2: 'CANARY-e2e-api-key-two-8b7a6f',
  key3: 'CANARY-e2e-api-key-three-2e3f',
  cookie1: 'CANARYe2eCookieOne0123456789',
  cookie2: 'CANARYe2eCookieTwo9876543210',
  token: 'hvs.CANARYe2eRootToken0123456789',
};

type LogLine = Record<string, unknown> & { level: string; msg: string };

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('a secret changes in Vault; the agent re-renders and the node reloads it over distribution', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlang-e2e-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ebin = path.join(dir, 'ebin');
  execFileSync('mkdir', ['-p', ebin, path.join(dir, 'out')]);
  execFileSync('erlc', ['-o', ebin, path.join(import.meta.dirname, 'erlang_reload_stub.erl')], { stdio: 'pipe' });

  const vault = await startVaultFake({ rootToken: CANARY.token });
  t.teardown(() => vault.close());
  vault.putKv('secret/app', { api_key: CANARY.key1 });
  vault.putKv('secret/erlang/cookie', { value: CANARY.cookie1 });
  vault.setPolicy('erlmcp', { 'secret/data/app': ['read'], 'secret/data/erlang/cookie': ['read'] });
  writeFileSync(path.join(dir, 'token'), vault.createToken({ policies: ['erlmcp'] }));

  // The node starts with the cookie that is in Vault now (in a pod: the one init rendered).
  const nodes = await ErlangNodes.forTest(t);
  const appConfig = path.join(dir, 'out', 'app.config');
  const node = await nodes.start({ sname: uniqueName('e2e'), cookie: CANARY.cookie1, codePaths: [ebin], extraArgs: ['-stub_file', appConfig] });

  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers:
  vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ./token } }
secrets:
  app: { provider: vault, path: secret/data/app, require: [api_key] }
  cookie: { provider: vault, path: secret/data/erlang/cookie, require: { value: { minLength: 20 } } }
output: { root: ./out }
templates:
  - { contents: "{api_key, {{app.api_key}}}.\\n", destination: app.config, escape: erlang, mode: "0600" }
  - { contents: "{{cookie.value}}", destination: erlang.cookie, mode: "0400" }
reload:
  - { type: erlang, node: "${node.node}", cookieFile: ./out/erlang.cookie, call: "erlang_reload_stub:reload()", expect: ok, timeout: 5s, epmdPort: ${nodes.epmdPort} }
refresh: { interval: 1s, jitter: 0 }
server: { listen: "127.0.0.1:0" }
`,
  );

  const child = spawn(process.execPath, [ENTRY, 'run', '-c', cfg], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  const logs = (): LogLine[] =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);

  await until('the sidecar to run', async () => (logs().some((l) => l.msg === 'sidecar running') ? true : undefined));
  const running = logs().find((l) => l.msg === 'sidecar running');
  t.same(running?.notifiers, [`erlang erlang_reload_stub:reload() on ${node.node}`], 'the erlang notifier is built in');
  t.match(readFileSync(appConfig, 'utf8'), CANARY.key1, 'init rendered the first value');

  const probe = new ErlDistClient({ node: node.node, cookie: CANARY.cookie1, epmdPort: nodes.epmdPort, localNodeName: `e2e_probe@${node.node.split('@')[1]}` });
  t.teardown(() => probe.close());
  const call = (f: string, a: Term[] = []): Promise<Term> => probe.call('erlang_reload_stub', f, a, { timeoutMs: 5000 });
  const nodeValue = async (): Promise<string | undefined> => {
    const v = await call('value');
    return v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : undefined;
  };
  t.strictSame(await call('value'), atom('undefined'), 'nothing reloaded yet: no change since start');

  // 1. the secret changes in Vault
  vault.putKv('secret/app', { api_key: CANARY.key2 });
  await until('the node to hold the new value', async () => ((await nodeValue()) === CANARY.key2 ? true : undefined));
  t.pass('the node holds the new value after a reload call from the agent');
  t.equal(await call('reloads'), 1, 'one change, one reload');
  const hidden = (await probe.call('erlang', 'nodes', [atom('hidden')])) as Term[];
  const agentNames = hidden.map((a) => String(a)).filter((n) => n.startsWith('erlmcp_secrets_'));
  t.equal(agentNames.length, 1, 'the agent is one hidden node on the target');
  t.match(agentNames[0], /^erlmcp_secrets_reload_[0-9a-f]{8}@/, 'under its fixed name');
  const succeeded = await until('the outcome in the log', async () => logs().find((l) => l.msg === 'reload notifier succeeded'));
  t.match(succeeded, { notifier: 'erlang', ok: true, target: `erlang erlang_reload_stub:reload() on ${node.node}` });
  t.match(succeeded.detail, /erlang_reload_stub:reload\(\) -> ok \(connected\)$/);

  // 2. the cookie rotates; the node keeps running with the old one. The node
  // drops the agent's connection first, so the agent has to handshake again
  // while its rendered cookie file already holds the new cookie. (The cookie
  // and the value are separate secrets on their own schedules: rotating both
  // at once lets the value's reload, over the old cookie, come first on a
  // busy machine; one at a time, each step has one outcome.)
  t.strictSame(await probe.call('erlang', 'disconnect_node', [atom(agentNames[0] as string)]), atom('true'));
  vault.putKv('secret/erlang/cookie', { value: CANARY.cookie2 });
  await until('the new cookie rendered', async () => (readFileSync(path.join(dir, 'out', 'erlang.cookie'), 'utf8') === CANARY.cookie2 ? true : undefined));
  const previous = await until('the cookie choice in the log', async () => logs().find((l) => l.cookieUsed === 'previous'));
  t.match(previous, { cookieRotated: true, msg: /the node has not picked up the new one yet/ }, 'the log says the previous cookie worked');
  vault.putKv('secret/app', { api_key: CANARY.key3 });
  await until('the node to hold the third value', async () => ((await nodeValue()) === CANARY.key3 ? true : undefined));
  t.pass('reloaded again after the cookie rotated');
  const outcomes = logs().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('reload notifier'));
  t.ok(outcomes.length >= 2 && outcomes.every((l) => l.ok === true), `every reload succeeded (${outcomes.length})`);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'stops cleanly on SIGTERM (the kept connection does not hold the process)');
  t.match(logs().at(-1), { msg: 'sidecar stopped' });
  assertNoLeak(t, [stdout, stderr], Object.values(CANARY));
});
