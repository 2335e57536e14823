// Certificates issued by the PKI engine of a real OpenBao dev server, through
// a vault secret with `write:` (a POST of that map to pki/issue/ROLE):
//
//   - the provider issues on fetch and never on a change check; the answer's
//     data is what templates see, ca_chain as a PEM bundle
//   - `init` renders certificate, key (0400) and chain; `openssl verify`
//     accepts the chain; `plan` issues nothing
//   - a request the role refuses fails init with exit 3 and Vault's words
//   - `run` with a poll interval far shorter than the certificate's life
//     issues once, and again only at ~2/3 of the lifetime
//   - `run` with short TTLs re-issues before expiry, rewrites the files and
//     runs the built-in `erlang` reload: a real OTP node serving TLS from the
//     files hands a new connection the new certificate (ssl's PEM cache
//     cleared; test/reload/erlmcp-reload.test.ts shows the old one is served
//     without it)
//   - the private key never appears in any output

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { atom, isAtom } from '../../agent/erldist/terms.ts';
import { startAgent, type AgentProcess } from '../helpers/agent-process.ts';
import { BUNDLE, ROOT, runCli as runCliIn, type CliRun } from '../helpers/cli.ts';
import { ErlangNodes, freePort, uniqueName } from '../helpers/erlang-node.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { createToken, startDevBao, writePolicy, type Bao } from '../helpers/openbao.ts';
import { agentDir, realProviderHarness, runInit } from '../helpers/openbao-agent.ts';

// real servers and certificates that run out on purpose
t.setTimeout(300_000);

const signal = (): AbortSignal => new AbortController().signal;
const COOKIE = 'pkiTestCookie0123456789abcdef';
/** a role the backoff test turns against the agent and back */
const FLAKY_ROLE = { allowed_domains: 'example', allow_subdomains: true, max_ttl: '2h', not_before_duration: '1s', key_type: 'ec', key_bits: 256 };

let bao: Bao;
let token: string;
t.before(async () => {
  bao = await startDevBao(t);
  await bao.ok('POST', 'sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } });
  await bao.ok('POST', 'pki/root/generate/internal', { common_name: 'erlmcp test root', ttl: '87600h' });
  // not_before_duration 1s: the default backdates NotBefore by 30 s, which
  // with TTLs of seconds would put 2/3 of the lifetime before the issue
  await bao.ok('POST', 'pki/roles/erlmcp', { allowed_domains: 'example', allow_subdomains: true, allow_ip_sans: true, max_ttl: '2h', not_before_duration: '1s', key_type: 'ec', key_bits: 256 });
  await bao.ok('POST', 'pki/roles/flaky', FLAKY_ROLE);
  await writePolicy(bao, 'issuer', { 'pki/issue/erlmcp': ['update'], 'pki/issue/flaky': ['update'] });
  token = await createToken(bao, { policies: ['issuer'] });
});

/** how many certificates the PKI has issued so far (the root included) */
async function issuedCount(): Promise<number> {
  const r = await bao.ok('LIST', 'pki/certs');
  return (r.data.keys as string[]).length;
}

interface PkiConfig {
  write: string;
  /** default pki/issue/erlmcp */
  path?: string;
  extra?: string;
  reload?: string;
}

/** an agent config with one issued secret `tls` rendered into three files */
function writeConfig(dir: string, c: PkiConfig): string {
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    `providers:
  vault: { type: vault, address: "${bao.url}", auth: { method: token, tokenFile: ./token } }
secrets:
  tls:
    provider: vault
    path: ${c.path ?? 'pki/issue/erlmcp'}
    write: ${c.write}
    require:
      certificate: { format: pem-certificate }
      private_key: { format: pem-private-key, matchesCertificate: tls.certificate }
      ca_chain: { format: pem-certificate }
templates:
  - { contents: "{{tls.certificate}}", destination: tls/server.crt, mode: "0444" }
  - { contents: "{{tls.private_key}}", destination: tls/server.key }
  - { contents: "{{tls.ca_chain}}", destination: tls/ca.crt, mode: "0444" }
output: { root: ./out }
server: { enabled: false }
init: { timeout: 10s, backoff: { initial: 100ms, max: 500ms } }
${c.extra ?? ''}
${c.reload ?? ''}`,
  );
  return file;
}

const runCli = (dir: string, args: string[]): Promise<CliRun> => runCliIn(args, { program: BUNDLE, cwd: dir });
const out = (dir: string, f: string): string => path.join(dir, 'out/tls', f);
const serialOf = (file: string): string => new X509Certificate(readFileSync(file)).serialNumber;

/** every private key the PKI handed out in this run, read from the files it was rendered into */
function keysSeen(dir: string, seen: Set<string>): void {
  seen.add(readFileSync(out(dir, 'server.key'), 'utf8').trim());
}

t.test('the provider issues on fetch, and a change check never issues', async (t) => {
  const h = realProviderHarness(t, bao.url);
  const p = await h.tokenProvider(token);
  const ref = { name: 'tls', spec: { path: 'pki/issue/erlmcp', write: { common_name: 'erlmcp.example', ttl: '1h', ip_sans: ['127.0.0.1'] } } };
  t.ok(p.issues(ref), 'a secret with write: issues');
  t.notOk(p.issues({ name: 'kv', spec: { path: 'secret/data/app' } }), 'a read does not');
  t.equal(p.describe(ref), `vault write pki/issue/erlmcp (common_name, ttl, ip_sans) at ${bao.url}`, 'described by parameter names');

  const before = await issuedCount();
  const v = await p.fetch(ref, signal());
  t.equal(await issuedCount(), before + 1, 'one certificate issued');
  for (const k of ['certificate', 'private_key', 'issuing_ca', 'ca_chain', 'serial_number', 'expiration']) t.ok(Object.hasOwn(v.data, k), `templates see ${k}`);
  const cert = new X509Certificate(v.data.certificate!);
  t.match(cert.subject, /CN=erlmcp\.example/);
  t.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  t.equal(cert.serialNumber.toLowerCase(), v.data.serial_number!.replaceAll(':', '').toLowerCase(), 'serial_number is the certificate serial');
  t.notOk(v.data.ca_chain!.startsWith('['), 'ca_chain is a PEM bundle, not a JSON list');
  t.match(v.data.ca_chain!, /^-----BEGIN CERTIFICATE-----/);
  t.same(v.issued, { from: cert.validFromDate.getTime(), until: cert.validToDate.getTime(), fraction: 2 / 3, basis: 'certificate' }, 'timed by the certificate');
  t.equal(v.lease, undefined, 'no lease: nothing to renew');

  t.equal(await p.changed(ref, v, signal()), false, 'a change check says no');
  t.equal(await issuedCount(), before + 1, '... without issuing');

  const half = await p.fetch({ ...ref, spec: { ...ref.spec, reissueFraction: 0.5 } }, signal());
  t.equal(half.issued?.fraction, 0.5, 'reissueFraction is carried');

  const refused = await h.rejected(p.fetch({ name: 'tls', spec: { path: 'pki/issue/erlmcp', write: { common_name: 'erlmcp.other' } } }, signal()));
  t.equal(refused.code, 'missing', 'a request the role refuses: exit 3');
  t.match(refused.message, /refused issuing from pki\/issue\/erlmcp.*erlmcp\.other/);

  const logged = h.logLines.join('\n');
  t.match(logged, /"msg":"vault secret issued"/);
  t.match(logged, new RegExp(`"serial":"${v.data.serial_number}"`), 'the serial number is logged');
  assertNoLeak(t, h.texts(), [v.data.private_key!, half.data.private_key!]);
});

t.test('init renders certificate, key and chain; openssl verifies the chain; plan issues nothing', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeConfig(dir, { write: '{ common_name: erlmcp.example, ttl: 1h, alt_names: "localhost.example" }' });
  const before = await issuedCount();
  const plan = await runCli(dir, ['plan', '-c', cfg]);
  t.equal(plan.code, 0, `plan exits 0 (${plan.problems.join('; ')})`);
  t.match(plan.stdout, /not rendered: tls is issued on write \(a new certificate\) by init and run, never by plan/);
  t.match(plan.stdout, /3 issued at init/);
  t.equal(await issuedCount(), before, 'plan issued nothing');

  const r = await runInit(dir, cfg);
  t.equal(r.code, 0, `init exits 0 (${r.problems.join('; ')})`);
  t.equal(await issuedCount(), before + 1, 'init issued one certificate');
  t.equal(statSync(out(dir, 'server.key')).mode & 0o777, 0o400, 'the key is 0400');
  t.equal(statSync(out(dir, 'server.crt')).mode & 0o777, 0o444);
  const verify = execFileSync('openssl', ['verify', '-CAfile', out(dir, 'ca.crt'), out(dir, 'server.crt')], { encoding: 'utf8' });
  t.match(verify, /server\.crt: OK/, 'openssl verify accepts the chain');
  const modulusOfKey = execFileSync('openssl', ['pkey', '-in', out(dir, 'server.key'), '-pubout'], { encoding: 'utf8' });
  const modulusOfCert = execFileSync('openssl', ['x509', '-in', out(dir, 'server.crt'), '-noout', '-pubkey'], { encoding: 'utf8' });
  t.equal(modulusOfKey, modulusOfCert, 'the key belongs to the certificate');

  const plan2 = await runCli(dir, ['plan', '-c', cfg]);
  t.equal(plan2.code, 0);
  t.equal(await issuedCount(), before + 1, 'plan again: still nothing issued');
  assertNoLeak(t, [r.stdout, r.stderr, plan.stdout, plan.stderr, plan2.stdout, plan2.stderr], [readFileSync(out(dir, 'server.key'), 'utf8').trim()]);
});

t.test('a request the role refuses fails init with exit 3, naming the secret and what Vault said', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeConfig(dir, { write: '{ common_name: erlmcp.elsewhere }' });
  const r = await runInit(dir, cfg);
  t.equal(r.code, 3);
  t.match(r.problems.join('\n'), /tls: .*refused issuing from pki\/issue\/erlmcp.*erlmcp\.elsewhere/);
});

t.test('run: a poll interval far shorter than the certificate issues nothing more, SIGHUP neither', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeConfig(dir, { write: '{ common_name: erlmcp.example, ttl: 1h }', extra: 'refresh: { interval: 300ms, jitter: 0 }' });
  const before = await issuedCount();
  const agent = startAgent(t, ['run', '-c', cfg, '--log-level', 'debug'], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const planned = await agent.waitForLog((l) => l.msg === 're-issue planned', 're-issue planned');
  const at = Date.parse(String(planned.at));
  const cert = new X509Certificate(readFileSync(out(dir, 'server.crt')));
  const life = cert.validToDate.getTime() - cert.validFromDate.getTime();
  const from = cert.validFromDate.getTime();
  t.ok(at >= from + life * (2 / 3) * 0.9 - 1000 && at <= from + life * (2 / 3) + 1000, `planned at 60-67% of the lifetime (${planned.at as string})`);
  // several poll intervals, and an operator's SIGHUP
  await new Promise((r) => setTimeout(r, 2000));
  agent.proc.kill('SIGHUP');
  await agent.waitForLog((l) => l.msg === 'SIGHUP received', 'SIGHUP received');
  await new Promise((r) => setTimeout(r, 1500));
  t.equal(await issuedCount(), before + 1, 'one certificate in all: the one init issued');
  t.equal(agent.countLogs((l) => l.msg === 'vault secret issued'), 1);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [readFileSync(out(dir, 'server.key'), 'utf8').trim()]);
});

t.test('run: a re-issue the PKI refuses keeps the files and is retried with backoff, not in a loop', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeConfig(dir, { path: 'pki/issue/flaky', write: '{ common_name: erlmcp.example, ttl: 9s }', extra: 'refresh: { interval: 300ms, backoff: { initial: 500ms, max: 2s } }' });
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  t.teardown(() => bao.ok('POST', 'pki/roles/flaky', FLAKY_ROLE));
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  const first = serialOf(out(dir, 'server.crt'));
  const keys = new Set<string>();
  keysSeen(dir, keys);
  await bao.ok('POST', 'pki/roles/flaky', { ...FLAKY_ROLE, allowed_domains: 'elsewhere.test' });
  const failed = (l: { msg: string }) => l.msg === 'secret refresh failed; files keep the last good value';
  await agent.waitForLog((l) => failed(l) && l.failures === 3, 'three failed re-issues', 30_000);
  const failures = agent.logs.filter(failed);
  t.same(failures.map((l) => l.outcome), ['missing', 'missing', 'missing'], "the role's refusal, as exit 3's code");
  const times = failures.map((l) => Date.parse(String(l.time)));
  t.ok(times.slice(1).every((at, i) => at - times[i]! >= 400), `backed off between tries (${times.slice(1).map((at, i) => at - times[i]!).join(', ')} ms)`);
  t.equal(serialOf(out(dir, 'server.crt')), first, 'the files keep the last good certificate');
  t.match(String(failures[0]!.err), /refused issuing from pki\/issue\/flaky/);

  await bao.ok('POST', 'pki/roles/flaky', FLAKY_ROLE);
  await agent.waitForLog((l) => l.msg === 'secret changed', 'a re-issue once the role allows it again', 30_000);
  await agent.waitForLog((l) => l.msg === 'template written' && String(l.file).endsWith('server.key'), 'the new certificate and key written', 10_000, agent.logs.findIndex((l) => l.msg === 'secret changed'));
  t.not(serialOf(out(dir, 'server.crt')), first, 'then a new certificate');
  keysSeen(dir, keys);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [...keys]);
});

t.test('run: a changed write map in the edited config is issued at once', async (t) => {
  const dir = agentDir(t, token);
  const cfg = writeConfig(dir, { write: '{ common_name: first.example, ttl: 1h }' });
  const agent = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  t.match(new X509Certificate(readFileSync(out(dir, 'server.crt'))).subject, /CN=first\.example/);
  const keys = new Set<string>();
  keysSeen(dir, keys);
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('common_name: first.example', 'common_name: second.example'));
  await agent.waitForLog((l) => l.msg === 'the request of a secret issued on write changed in the config: issuing for the new request now', 'the new request applied', 20_000);
  const changed = await agent.waitForLog((l) => l.msg === 'secret changed', 'the new certificate', 20_000);
  await agent.waitForLog((l) => l.msg === 'template written' && String(l.file).endsWith('server.key'), 'the new key written', 10_000, agent.logs.indexOf(changed));
  t.match(new X509Certificate(readFileSync(out(dir, 'server.crt'))).subject, /CN=second\.example/, 'the files hold a certificate for the new request');
  keysSeen(dir, keys);
  t.equal(keys.size, 2);
  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  assertNoLeak(t, [agent.stdout(), agent.stderr()], [...keys]);
});

/** the serial of the certificate a TLS server on 127.0.0.1:port presents to a new connection */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

/** the reload module and the node-side TLS listener, compiled for this test */
function compileErlang(t: Test): { beam: string; fixtureEbin: string } {
  const work = mkdtempSync(path.join(tmpdir(), 'pki-erl-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const reloadEbin = path.join(work, 'reload');
  const fixtureEbin = path.join(work, 'fixture');
  mkdirSync(reloadEbin);
  mkdirSync(fixtureEbin);
  execFileSync('erlc', ['-o', reloadEbin, path.join(ROOT, 'templates/erlang/erlmcp_secrets_reload.erl')], { stdio: 'pipe' });
  execFileSync('erlc', ['-o', fixtureEbin, path.join(ROOT, 'test/fixtures/erlmcp_core/src/erlmcp_core_fixture.erl')], { stdio: 'pipe' });
  return { beam: path.join(reloadEbin, 'erlmcp_secrets_reload.beam'), fixtureEbin };
}

t.test('run re-issues before expiry, rewrites the files, and the erlang reload makes a real OTP node serve the new certificate', async (t) => {
  const { beam, fixtureEbin } = compileErlang(t);
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('pki'), cookie: COOKIE, codePaths: [fixtureEbin] });
  const dir = agentDir(t, token);
  writeFileSync(path.join(dir, 'cookie'), COOKIE);
  // 20 s certificates: issued again after ~13 s; the listener reads the files through ssl's PEM cache
  const cfg = writeConfig(dir, {
    write: '{ common_name: erlmcp.example, ttl: 20s, ip_sans: ["127.0.0.1"] }',
    extra: 'refresh: { interval: 1s, backoff: { initial: 500ms, max: 2s } }',
    reload: `reload:
  - type: erlang
    node: "${node.node}"
    cookieFile: ./cookie
    epmdPort: ${nodes.epmdPort}
    apply: { beamFile: "${beam}" }`,
  });
  const keys = new Set<string>();
  const agent: AgentProcess = startAgent(t, ['run', '-c', cfg], { program: BUNDLE, cwd: dir });
  await agent.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running', 30_000);
  keysSeen(dir, keys);
  const first = serialOf(out(dir, 'server.crt'));
  t.equal(execFileSync('openssl', ['verify', '-CAfile', out(dir, 'ca.crt'), out(dir, 'server.crt')], { encoding: 'utf8' }).trim(), `${out(dir, 'server.crt')}: OK`);

  const probe = new ErlDistClient({ node: node.node, cookie: COOKIE, localNodeName: `pki_probe@${node.node.split('@')[1]}`, epmdPort: nodes.epmdPort });
  t.teardown(() => probe.close());
  const tlsPort = await freePort();
  const started = await probe.call('erlmcp_core_fixture', 'start_tls', [tlsPort, out(dir, 'server.crt'), out(dir, 'server.key')], { timeoutMs: 15_000 });
  t.ok(isAtom(started, 'ok'), 'the node serves TLS from the rendered files');
  t.equal(await servedSerial(tlsPort), first, 'a connection sees the issued certificate');

  // the re-issue comes before the certificate expires
  const issuedAt = Date.now();
  const reloaded = await agent.waitForLog((l) => l.msg === 'reload notifier succeeded', 'the erlang reload after the re-issue', 40_000);
  const second = serialOf(out(dir, 'server.crt'));
  keysSeen(dir, keys);
  t.not(second, first, 'a new certificate was written');
  t.ok(Date.now() - issuedAt < 20_000, 'before the first one expired');
  t.match(String(reloaded.detail), /PEM cache cleared/, 'the built-in reload cleared the PEM cache');
  t.equal(execFileSync('openssl', ['verify', '-CAfile', out(dir, 'ca.crt'), out(dir, 'server.crt')], { encoding: 'utf8' }).trim(), `${out(dir, 'server.crt')}: OK`);
  t.equal(await servedSerial(tlsPort), second, 'after the reload, a new connection to the node sees the new serial');
  t.ok(agent.countLogs((l) => l.msg === 'vault secret issued') <= 3, 'issued on the lifetime clock, not on every 1 s check');

  agent.proc.kill('SIGTERM');
  t.equal((await agent.exited).code, 0);
  keysSeen(dir, keys);
  t.ok(keys.size >= 2, 'at least two keys were issued');
  assertNoLeak(t, [agent.stdout(), agent.stderr(), node.output()], [...keys]);
});
