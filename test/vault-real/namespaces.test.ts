// Namespaces and wrong addresses against a real OpenBao dev server
// (OpenBao has namespaces in its open-source server): a namespace that
// exists, a nested one, one that does not exist, a namespaced token used
// without `namespace:`, and addresses that are not Vault's API (a path
// prefix on the real server, a plain web server). All through the bundle.

import t from 'tap';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';

const CANARY = { top: 'CANARY-Ns0-4d2f6b8a', one: 'CANARY-Ns1-9c1e3a5b', child: 'CANARY-Ns2-7a9c1e3f' };

// real servers, TTLs that run out on purpose: more than tap's default 120 s on a loaded machine
t.setTimeout(360_000);

let bao: Bao;
t.before(async () => {
  bao = await startDevBao(t);
  await bao.ok('POST', 'sys/namespaces/team');
  await bao.ok('POST', 'sys/namespaces/child', undefined, { namespace: 'team' });
  for (const [ns, value] of [
    ['team', CANARY.one],
    ['team/child', CANARY.child],
  ] as const) {
    await bao.ok('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } }, { namespace: ns });
    await bao.ok('PUT', 'secret/data/app', { data: { password: value } }, { namespace: ns });
    await writePolicy(bao, 'reader', { 'secret/data/*': ['read'] }, ns);
  }
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.top } });
  await writePolicy(bao, 'reader', { 'secret/data/*': ['read'] });
});


const app = { s: { path: 'secret/data/app' } };

t.test('a namespace that exists, and a nested one: each reads its own secret', async (t) => {
  for (const [ns, value] of [
    ['team', CANARY.one],
    ['team/child', CANARY.child],
  ] as const) {
    const dir = agentDir(t, await createToken(bao, { policies: ['reader'], namespace: ns }));
    const run = await runInit(dir, writeAgentConfig(dir, { address: bao.url, namespace: ns, secrets: app, template: '{{s.password}}' }));
    t.equal(run.code, 0, run.stderr);
    t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), value, `namespace ${ns}`);
    assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
  }
});

t.test('defect 3: a namespace that does not exist is exit 4 naming it', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'] }));
  const run = await runInit(dir, writeAgentConfig(dir, { address: bao.url, namespace: 'team/nope', secrets: app, template: '{{s.password}}' }));
  t.equal(run.code, 4, run.stderr);
  t.match(run.problems.join('\n'), /namespace "team\/nope" does not exist at Vault at http:\/\/127\.0\.0\.1:\d+/);
  t.match(run.problems.join('\n'), /providers\.vault\.namespace/, 'names the setting');
  assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
});

t.test('defect 3: a namespaced token without namespace: says which namespace the token belongs to', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'], namespace: 'team' }));
  const run = await runInit(dir, writeAgentConfig(dir, { address: bao.url, secrets: app, template: '{{s.password}}' }));
  t.equal(run.code, 4, run.stderr);
  t.match(run.problems.join('\n'), /the token belongs to namespace "team" but providers\.vault\.namespace is not set; set namespace: team/);
  assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
});

t.test('defect 2: an address that is not Vault (a path prefix on the real server) is exit 4 saying so', async (t) => {
  const dir = agentDir(t, await createToken(bao, { policies: ['reader'] }));
  const address = `${bao.url}/vault`;
  const run = await runInit(dir, writeAgentConfig(dir, { address, secrets: app, template: '{{s.password}}' }));
  t.equal(run.code, 4, run.stderr);
  t.match(run.problems.join('\n'), `this is not Vault's API at ${address}`);
  t.notMatch(run.problems.join('\n'), /no secret at/);
});

t.test("defect 2: a plain web server's pages, at any status, are exit 4 \"not Vault's API\"", async (t) => {
  for (const status of [404, 200, 400]) {
    const web = http.createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end('<html><body>It works!</body></html>');
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => web.close(() => r())));
    const address = `http://127.0.0.1:${(web.address() as { port: number }).port}`;
    const dir = agentDir(t, 'some-token-value');
    const run = await runInit(dir, writeAgentConfig(dir, { address, secrets: app, template: '{{s.password}}' }));
    t.equal(run.code, 4, `HTTP ${status}: ${run.stderr}`);
    t.match(run.problems.join('\n'), `this is not Vault's API at ${address}`, `HTTP ${status}`);
    t.match(run.problems.join('\n'), `HTTP ${status}, text/html`, 'names what answered');
  }
});
