// A real OpenBao server (raft storage, TLS listener, `operator init`, seal
// and unseal), one for the file: TLS with the right CA, a wrong one and a
// name mismatch; plain http:// to the TLS listener; seal during init and
// during run; a restart (it comes back sealed); a rate-limit quota's 429
// with and without Retry-After. Through the bundle, the provider where
// clearer; canary values never appear in output.

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE } from '../helpers/cli.ts';
import { startAgent } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startBaoServer, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, realProviderHarness, runInit, writeAgentConfig } from '../helpers/openbao-agent.ts';
import { makeTestPki, type TestPki } from '../fakes/vault/certs.ts';

const CANARY = { a: 'CANARY-Srv-a-6f1b3d5e', b: 'CANARY-Srv-b-2a4c6e8f', c: 'CANARY-Srv-c-9b1d3f5a', q: 'CANARY-Srv-q-7c9e1a3b' };
const signal = (): AbortSignal => new AbortController().signal;

// real servers, TTLs that run out on purpose: more than tap's default 120 s on a loaded machine
t.setTimeout(360_000);

let bao: Bao;
let pki: TestPki;
let token: string;
t.before(async () => {
  pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  writeFileSync(join(pki.dir, 'server.pem'), pki.cert);
  writeFileSync(join(pki.dir, 'server-key.pem'), pki.key);
  bao = await startBaoServer(t, { tls: { certFile: join(pki.dir, 'server.pem'), keyFile: join(pki.dir, 'server-key.pem'), caFile: pki.caFile } });
  await bao.ok('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
  await bao.ok('PUT', 'secret/data/app', { data: { password: CANARY.a } });
  await writePolicy(bao, 'reader', { 'secret/data/*': ['read'], 'secret/metadata/*': ['read'] });
  token = await createToken(bao, { policies: ['reader'] });
});

const app = { s: { path: 'secret/data/app' } };
const tls = (extra = ''): string => `{ caFile: "${pki.caFile}"${extra} }`;

t.test('TLS: the right CA and a name the certificate carries pass; a wrong CA and a name mismatch are exit 4 with what to fix', async (t) => {
  const good = agentDir(t, token);
  const ok = await runInit(good, writeAgentConfig(good, { address: bao.url, tls: tls(), secrets: app, template: '{{s.password}}' }));
  t.equal(ok.code, 0, ok.stderr);
  t.equal(readFileSync(join(good, 'out/out.txt'), 'utf8'), CANARY.a);

  const byName = agentDir(t, token);
  const named = await runInit(byName, writeAgentConfig(byName, { address: `https://localhost:${bao.port}`, tls: tls(', serverName: vault.test'), secrets: app, template: '{{s.password}}' }));
  t.equal(named.code, 0, `tls.serverName a name in the certificate: ${named.stderr}`);

  const wrongCa = agentDir(t, token);
  const bad = await runInit(wrongCa, writeAgentConfig(wrongCa, { address: bao.url, tls: `{ caFile: "${pki.otherCaFile}" }`, secrets: app, template: '{{s.password}}' }));
  t.equal(bad.code, 4, bad.stderr);
  t.match(bad.problems.join('\n'), `cannot verify the TLS certificate of Vault at ${bao.url}`);
  t.match(bad.problems.join('\n'), `check that tls.caFile (${pki.otherCaFile}) holds the CA that signed Vault's certificate`);

  const mismatch = agentDir(t, token);
  const mm = await runInit(mismatch, writeAgentConfig(mismatch, { address: bao.url, tls: tls(', serverName: elsewhere.example'), secrets: app, template: '{{s.password}}' }));
  t.equal(mm.code, 4, mm.stderr);
  t.match(mm.problems.join('\n'), /\(ERR_TLS_CERT_ALTNAME_INVALID\): the certificate does not name/);
  assertNoLeak(t, [ok.stdout, ok.stderr, named.stderr, bad.stderr, mm.stderr], Object.values(CANARY));
});

t.test('defect 1: http:// to the TLS listener is exit 4 naming the scheme', async (t) => {
  const dir = agentDir(t, token);
  const address = `http://127.0.0.1:${bao.port}`;
  const run = await runInit(dir, writeAgentConfig(dir, { address, secrets: app, template: '{{s.password}}' }));
  t.equal(run.code, 4, run.stderr);
  t.match(run.problems.join('\n'), `Vault at ${address} listens with TLS`);
  t.match(run.problems.join('\n'), `address says http://; use https://127.0.0.1:${bao.port}`);
  t.notMatch(run.problems.join('\n'), /refused looking up the Vault token/);
});

t.test('sealed during init: exit 4 saying so; unsealed while init waits: exit 0', async (t) => {
  await bao.seal();
  t.teardown(() => bao.unseal().catch(() => {}));
  const dir = agentDir(t, token);
  const sealed = await runInit(dir, writeAgentConfig(dir, { address: bao.url, tls: tls(), secrets: app, template: '{{s.password}}', initTimeout: '2s' }));
  t.equal(sealed.code, 4, sealed.stderr);
  t.match(sealed.problems.join('\n'), `Vault at ${bao.url} is sealed`);

  const cfg = writeAgentConfig(dir, { address: bao.url, tls: tls(), secrets: app, template: '{{s.password}}', initTimeout: '60s' });
  const waiting = startAgent(t, ['init', '-c', cfg], { program: BUNDLE, cwd: dir });
  // unseal only once init has met the seal
  await waiting.waitForLog((l) => String(l.err ?? '').includes('is sealed'), 'init meeting the seal', 30_000);
  await bao.unseal();
  t.equal((await waiting.exited).code, 0, waiting.stderr());
  t.equal(readFileSync(join(dir, 'out/out.txt'), 'utf8'), CANARY.a);
  assertNoLeak(t, [sealed.stderr, waiting.stderr(), waiting.stdout()], Object.values(CANARY));
});

t.test('sealed during run, then a restart (back sealed): the sidecar keeps its files, says why, and recovers', async (t) => {
  await bao.ok('PUT', 'secret/data/live', { data: { password: CANARY.a } });
  const dir = agentDir(t, token);
  const cfg = writeAgentConfig(dir, {
    address: bao.url,
    tls: tls(),
    secrets: { s: { path: 'secret/data/live' } },
    template: '{{s.password}}',
    extra: 'refresh: { interval: 500ms, jitter: 0, backoff: { initial: 200ms, max: 500ms } }',
  });
  // whatever happens below, the next test finds the server up and unsealed
  t.teardown(async () => {
    await bao.start();
    if ((await bao.api('GET', 'sys/health')).status === 503) await bao.unseal();
  });
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const out = join(dir, 'out/out.txt');
  t.equal(readFileSync(out, 'utf8'), CANARY.a);

  await bao.seal();
  let mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg.startsWith('secret refresh failed') && String(l.err).includes('is sealed'), 'a refresh failing as sealed', 20_000, mark);
  t.equal(readFileSync(out, 'utf8'), CANARY.a, 'sealed: the last good value stays');
  await bao.unseal();
  await bao.ok('PUT', 'secret/data/live', { data: { password: CANARY.b } });
  mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg === 'template written', 'a re-render after unseal', 20_000, mark);
  t.equal(readFileSync(out, 'utf8'), CANARY.b, 'unsealed: the new version is rendered');

  await bao.stop();
  mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg.startsWith('secret refresh failed') && String(l.err).includes('connection refused'), 'a refresh failing while Vault is down', 20_000, mark);
  await bao.start();
  mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg.startsWith('secret refresh failed') && String(l.err).includes('is sealed'), 'restarted: sealed', 20_000, mark);
  await bao.unseal();
  await bao.ok('PUT', 'secret/data/live', { data: { password: CANARY.c } });
  mark = agent.logs.length;
  await agent.waitForLog((l) => l.msg === 'template written', 'a re-render after the restart', 20_000, mark);
  t.equal(readFileSync(out, 'utf8'), CANARY.c, 'after the restart and unseal: the new version is rendered');
  t.equal(agent.proc.exitCode, null, 'the sidecar ran through it all');
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], Object.values(CANARY));
});

t.test('a rate-limit quota: 429 is throttled, without Retry-After by default and with it once response headers are on', async (t) => {
  await bao.ok('PUT', 'secret/data/limited', { data: { password: CANARY.q } });
  await bao.ok('POST', 'sys/quotas/rate-limit/agent', { path: 'secret/data/limited', rate: 1, interval: '3s', block_interval: '3s' });
  t.teardown(async () => {
    await bao.ok('DELETE', 'sys/quotas/rate-limit/agent');
    await bao.ok('POST', 'sys/quotas/config', { enable_rate_limit_response_headers: false });
  });
  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(token, { tls: { caFile: pki.caFile } });
  const ref = { name: 'q', spec: { path: 'secret/data/limited' } };
  const drain = async (): Promise<Awaited<ReturnType<typeof h.rejected>>> => {
    // the quota allows one request per interval: the second (or third) is refused
    for (let i = 0; i < 3; i++) {
      const r = await p.fetch(ref, signal()).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (r !== undefined) return h.rejected(Promise.reject(r));
    }
    throw new Error('the quota never refused');
  };
  const plain = await drain();
  t.same([plain.code, plain.throttled, plain.retryAfterMs], ['unavailable', true, undefined], 'OpenBao sends no Retry-After by default');
  t.match(plain.message, `Vault at ${bao.url} is rate limiting requests (HTTP 429) while reading secret/data/limited`);

  await bao.ok('POST', 'sys/quotas/config', { enable_rate_limit_response_headers: true });
  await new Promise((r) => setTimeout(r, 3200));
  const withHeader = await drain();
  t.equal(withHeader.throttled, true);
  t.ok(withHeader.retryAfterMs !== undefined && withHeader.retryAfterMs > 0 && withHeader.retryAfterMs <= 6000, `Retry-After honoured (${withHeader.retryAfterMs} ms)`);
  assertNoLeak(t, h.texts(), Object.values(CANARY));

  // through the bundle: init rides out the quota and succeeds
  await new Promise((r) => setTimeout(r, 3200));
  await p.fetch(ref, signal()); // use up this interval's one request
  const dir = agentDir(t, token);
  const run = await runInit(dir, writeAgentConfig(dir, { address: bao.url, tls: tls(), secrets: { q: { path: 'secret/data/limited' } }, template: '{{q.password}}', initTimeout: '30s' }));
  t.equal(run.code, 0, run.stderr);
  t.ok(run.logs.some((l) => String(l.err ?? '').includes('rate limiting requests (HTTP 429)')), 'it was throttled first');
  assertNoLeak(t, [run.stdout, run.stderr], Object.values(CANARY));
});
