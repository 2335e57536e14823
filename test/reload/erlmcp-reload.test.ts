// erlmcp as it is, against real Erlang nodes: a stand-in `erlmcp_core`
// application (test/fixtures/erlmcp_core: erlmcp's application name and env
// keys, none of its code), the example config examples/erlmcp/local.yaml
// rendered by the real CLI, and the built-in `erlang` reload, which loads
// templates/erlang/erlmcp_secrets_reload into the node over the distribution
// connection. Nothing is started in the node beyond its application.
//
//   - the rendered sys.config boots the node: db_pools has an integer port and `user`
//   - a rotation reaches the running node: new password in the env, ssl's PEM
//     cache cleared (a new TLS connection sees the new certificate), hook called
//   - EPMD-less node on a fixed port (ERL_DIST_PORT), TLS distribution with
//     the rendered certificate files
//   - cookie rotation across two connected nodes without a dropped connection
//   - a restarted agent reaches a node that still runs the previous cookie,
//     and a restarted sidecar process finishes that rotation at start
//   - no rotation while another rendered file holding the cookie is unwritten
//     (the node keeps the old cookie, .previous stays); it completes when the write lands
//   - no secret value in anything the agent prints

import t, { type Test } from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { reloadSchema } from '../../agent/config/reload-schema.ts';
import { ErlDistClient, type TlsFiles } from '../../agent/erldist/client.ts';
import { atom, Atom, isAtom, Tuple, type Term } from '../../agent/erldist/terms.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { ErlangNotifier, type ErlangReloadConfig } from '../../agent/reload/erlang.ts';
import type { Outcome } from '../../agent/reload/notifier.ts';
import { ENTRY, ROOT, runCli } from '../helpers/cli.ts';
import { consultErlang } from '../helpers/erlang-consult.ts';
import { ErlangNodes, freePort, uniqueName, type RunningNode } from '../helpers/erlang-node.ts';
import { makeDistTlsFiles } from '../helpers/erlang-tls.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const NEW_PASSWORD = 'CANARY-rotated-db-password-7f3a9c';
const NEW_OPENAI_KEY = 'sk-CANARY-rotated-openai-key-51d0';
const COOKIE_A = 'CANARYcookieAlpha0123456789abcd';
const COOKIE_B = 'CANARYcookieBravo9876543210dcba';
const SAMPLE_PASSWORD = 'SAMPLE-not-a-real-password-0000';
const SAMPLE_COOKIE = 'SAMPLEcookieNOTFORPRODUCTION0000';
const CHANGE = { secrets: ['db', 'tls'], files: [] };

const work = mkdtempSync(path.join(tmpdir(), 'erlmcp-reload-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
t.teardown(() => forgetSecretValues());

// the reload module, as the image builds it; and the stand-in application
const reloadEbin = path.join(work, 'reload-ebin');
const appEbin = path.join(work, 'lib', 'erlmcp_core', 'ebin');
mkdirSync(reloadEbin, { recursive: true });
mkdirSync(appEbin, { recursive: true });
execFileSync('erlc', ['-o', reloadEbin, path.join(ROOT, 'templates/erlang/erlmcp_secrets_reload.erl')], { stdio: 'pipe' });
const FIXTURE = path.join(ROOT, 'test/fixtures/erlmcp_core');
copyFileSync(path.join(FIXTURE, 'ebin/erlmcp_core.app'), path.join(appEbin, 'erlmcp_core.app'));
execFileSync('erlc', ['-o', appEbin, path.join(FIXTURE, 'src/erlmcp_core_fixture.erl')], { stdio: 'pipe' });
const BEAM = path.join(reloadEbin, 'erlmcp_secrets_reload.beam');

/** examples/erlmcp/local.yaml over a copy of its sample secrets, rendered into `out` */
function exampleWorkspace(name: string): { dir: string; secrets: string; out: string; config: string } {
  const dir = path.join(work, name);
  const secrets = path.join(dir, 'secrets');
  cpSync(path.join(ROOT, 'examples/erlmcp/sample-secrets'), secrets, { recursive: true });
  const text = readFileSync(path.join(ROOT, 'examples/erlmcp/local.yaml'), 'utf8')
    .replace('path: ./sample-secrets', `path: ${JSON.stringify(secrets)}`)
    .replaceAll('../../templates/', `${ROOT}/templates/`);
  const config = path.join(dir, 'local.yaml');
  writeFileSync(config, text);
  return { dir, secrets, out: path.join(dir, 'out'), config };
}

async function render(t: Test, ws: { config: string; out: string }): Promise<string> {
  const r = await runCli(['init', '-c', ws.config], { env: { ERLMCP_SECRETS_OUTPUT_ROOT: ws.out } });
  t.equal(r.code, 0, `init renders the example (${r.problems.join('; ')})`);
  return r.stdout + r.stderr;
}

function erlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** TLS distribution with the rendered files, at the paths erlmcp's prod vm.args names (under out/) */
function distOptFile(out: string): string {
  const file = path.join(out, '..', 'ssl_dist.conf');
  const common = `{certfile, ${erlString(path.join(out, 'tls.crt'))}}, {keyfile, ${erlString(path.join(out, 'tls.key'))}}, {cacertfile, ${erlString(path.join(out, 'tls-ca.crt'))}}, {verify, verify_peer}`;
  writeFileSync(file, `[{server, [${common}, {fail_if_no_peer_cert, true}]},\n {client, [${common}]}].\n`);
  return file;
}

function config(raw: Record<string, unknown>): ErlangReloadConfig {
  return reloadSchema.parse({ type: 'erlang', timeout: '15s', ...raw }) as ErlangReloadConfig;
}

const notify = (n: ErlangNotifier): Promise<Outcome> => n.notify(CHANGE, new AbortController().signal);

function probe(t: Test, node: string, cookie: string, where: { port?: number; epmdPort?: number; tls?: TlsFiles }, name = 'erlmcp_probe'): (m: string, f: string, a?: Term[]) => Promise<Term> {
  const client = new ErlDistClient({ node, cookie, localNodeName: `${name}@${node.split('@')[1]}`, ...where });
  t.teardown(() => client.close());
  return (m, f, a = []) => client.call(m, f, a, { timeoutMs: 10_000 });
}

/** proplist value of key in an Erlang [{K, V}] list */
function prop(list: Term, key: string): Term | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const e of list) if (e instanceof Tuple && isAtom(e.elements[0], key)) return e.elements[1];
  return undefined;
}

function text(t: Term | undefined): string | undefined {
  if (t instanceof Uint8Array) return Buffer.from(t).toString('utf8');
  if (Array.isArray(t) && t.every((c) => typeof c === 'number')) return String.fromCharCode(...(t as number[]));
  return undefined;
}

/** the serial of the certificate a TLS server on 127.0.0.1:port presents now
 * (to a client with `client` as its certificate, when the server asks for one) */
function servedSerial(port: number, client: { certFile: string; keyFile: string } | undefined = undefined): Promise<string> {
  const auth = client ? { cert: readFileSync(client.certFile), key: readFileSync(client.keyFile) } : {};
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...auth }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once('error', reject);
  });
}

function serialOf(pemFile: string): string {
  return new X509Certificate(readFileSync(pemFile)).serialNumber;
}

/** a new node certificate from the CA makeDistTlsFiles left in dir (dist-ca.pem, dist-ca.key) */
function issueUnder(dir: string, name: string): { cert: string; key: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.pem`);
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const openssl = (args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', key]);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', path.join(dir, 'dist-ca.pem'), '-CAkey', path.join(dir, 'dist-ca.key'), '-CAcreateserial', '-days', '2', '-out', cert, '-extfile', ext]);
  return { cert, key };
}

t.test('the rendered example boots erlmcp_core; a rotation reaches the running node through the built-in reload', async (t) => {
  const ws = exampleWorkspace('boot');
  // the sample certificate's CA key was thrown away: a CA of our own, so the
  // rotation below can issue a new certificate under the same CA, as a
  // certificate rotation does (a new CA needs a bundle of old and new: docs/erlmcp.md)
  const caDir = mkdtempSync(path.join(ws.dir, 'ca-'));
  const ca = makeDistTlsFiles(caDir);
  const useCert = (cert: string, key: string): void => {
    copyFileSync(cert, path.join(ws.secrets, 'tls/tls.crt'));
    copyFileSync(key, path.join(ws.secrets, 'tls/tls.key'));
    copyFileSync(ca.caFile, path.join(ws.secrets, 'tls/ca.crt'));
  };
  useCert(ca.nodeCertFile, ca.nodeKeyFile);
  const firstRun = await render(t, ws);
  const sysConfig = path.join(ws.out, 'erlmcp/sys.config');

  // file:consult reads it as a release reads sys.config
  const [terms] = consultErlang(sysConfig) as [unknown];
  t.match(JSON.stringify(terms), /"erlmcp_core"/, 'one entry, for the application erlmcp_core');

  // an EPMD-less node on a fixed port, TLS distribution with the rendered files, booted with -config
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({
    name: `${uniqueName('erlmcp')}@127.0.0.1`,
    cookie: SAMPLE_COOKIE,
    fixedPort: port,
    tlsOptFile: distOptFile(ws.out),
    codePaths: [appEbin],
    extraArgs: ['-config', sysConfig, '-eval', 'ok = application:start(erlmcp_core)'],
  });
  const distTls = { caFile: path.join(ws.out, 'tls-ca.crt'), certFile: path.join(ws.out, 'tls.crt'), keyFile: path.join(ws.out, 'tls.key') };
  const call = probe(t, node.node, SAMPLE_COOKIE, { port, tls: distTls });

  const env = await call('application', 'get_env', [atom('erlmcp_core'), atom('db_pools')]);
  t.ok(env instanceof Tuple && isAtom(env.elements[0], 'ok'), 'application:get_env(erlmcp_core, db_pools) is set at boot');
  const pools = (env as Tuple).elements[1] as Term[];
  const pool = (pools[0] as Tuple).elements[1] as Term;
  t.ok(isAtom((pools[0] as Tuple).elements[0], 'default'));
  t.equal(prop(pool, 'port'), 5432, 'port is an integer');
  t.equal(text(prop(pool, 'user')), 'erlmcp', 'the user key is `user`');
  t.equal(prop(pool, 'username'), undefined, 'no `username` key');
  t.ok(Array.isArray(prop(pool, 'host')), 'host is a char list, as gen_tcp wants');
  t.ok(isAtom(prop(pool, 'backend'), 'postgres'));
  const cookieEnv = await call('application', 'get_env', [atom('erlmcp_core'), atom('cluster_cookie')]);
  t.ok(cookieEnv instanceof Tuple && cookieEnv.elements[1] instanceof Atom, 'cluster_cookie is an atom');

  // a transport-style TLS listener in the node, on the rendered server certificate
  const tlsPort = await freePort();
  t.ok(isAtom(await call('erlmcp_core_fixture', 'start_tls', [tlsPort, path.join(ws.out, 'erlmcp/tls/server.crt'), path.join(ws.out, 'erlmcp/tls/server.key')]), 'ok'));
  const before = await servedSerial(tlsPort);
  t.equal(before, serialOf(path.join(ws.out, 'erlmcp/tls/server.crt')), 'the listener serves the rendered certificate');

  // rotation: a new database password and a new CA and certificate
  writeFileSync(path.join(ws.secrets, 'db.yaml'), readFileSync(path.join(ws.secrets, 'db.yaml'), 'utf8').replace(SAMPLE_PASSWORD, NEW_PASSWORD));
  const renewed = issueUnder(caDir, 'renewed');
  useCert(renewed.cert, renewed.key);
  const secondRun = await render(t, ws);
  const after = serialOf(path.join(ws.out, 'erlmcp/tls/server.crt'));
  t.not(after, before, 'a new certificate was rendered');
  t.equal(await servedSerial(tlsPort), before, "without a reload, ssl's PEM cache still serves the old certificate");
  // TLS distribution has a PEM cache of its own (ssl_pem_cache_dist), which ssl:clear_pem_cache/0 leaves alone
  const distBefore = await servedSerial(port, distTls);
  t.not(distBefore, after, 'nor does a new distribution connection see the new certificate yet');

  // the built-in reload; the port comes from ERL_DIST_PORT, as in erlmcp's image
  const { logger, text: logs } = memoryLogger();
  const n = new ErlangNotifier(
    config({
      node: node.node,
      cookieFile: path.join(ws.out, 'erlmcp/erlang.cookie'),
      tls: distTls,
      apply: { configFiles: [sysConfig], envFiles: [path.join(ws.out, 'erlmcp/erlmcp.env')], hook: 'erlmcp_core_fixture:secrets_reloaded', beamFile: BEAM },
    }),
    { baseDir: ws.dir, logger, env: { ERL_DIST_PORT: String(port) } },
  );
  t.teardown(() => n.close());
  t.ok(isAtom(await call('code', 'is_loaded', [atom('erlmcp_secrets_reload')]), 'false'), 'the reload module is not in the node before');
  const o = await notify(n);
  t.ok(o.ok, o.detail);
  // the node was started without erlmcp.env: every variable in it is new to it
  t.match(o.detail, /erlmcp_secrets_reload:apply_rendered -> changed erlmcp_core\.db_pools, \$ANTHROPIC_API_KEY, \$ERLANG_COOKIE, \$OPENAI_API_KEY, \$RELX_COOKIE; PEM cache cleared; hook erlmcp_core_fixture:secrets_reloaded: ok/);
  t.match(logs(), /"changed":\["erlmcp_core.db_pools"\],"changedEnv":\["ANTHROPIC_API_KEY","ERLANG_COOKIE","OPENAI_API_KEY","RELX_COOKIE"\],"pemCache":"cleared","distPemCache":"cleared","hook":"ok"/, 'the log lists the changed keys and variables, and both PEM caches cleared');

  const pool2 = (((await call('application', 'get_env', [atom('erlmcp_core'), atom('db_pools')])) as Tuple).elements[1] as Term[])[0] as Tuple;
  t.equal(text(prop(pool2.elements[1] as Term, 'password')), NEW_PASSWORD, "the node's env holds the new password");
  t.equal(prop(pool2.elements[1] as Term, 'port'), 5432, 'still an integer port');
  const hook = (await call('erlmcp_core_fixture', 'hook_calls')) as Tuple;
  t.equal(hook.elements[0], 1, 'the hook ran once');
  t.same(hook.elements[1], [new Tuple([atom('erlmcp_core'), atom('db_pools')])], 'and was told which keys changed');
  t.equal(await servedSerial(tlsPort), after, 'after the reload a new TLS connection sees the new certificate');
  t.equal(await servedSerial(port, distTls), serialOf(distTls.certFile), 'and a new distribution connection the new distribution certificate');
  t.not(serialOf(distTls.certFile), distBefore);

  // the new distribution certificate: a new connection (read fresh) is accepted by the node
  t.equal(text(await call('os', 'getenv', [[...'OPENAI_API_KEY'].map((c) => c.charCodeAt(0))])), 'sk-SAMPLE-not-a-real-key-0000', 'the node sees the rendered variables');

  // only an LLM key changes: only that variable is reported
  writeFileSync(path.join(ws.secrets, 'llm.env'), readFileSync(path.join(ws.secrets, 'llm.env'), 'utf8').replace('sk-SAMPLE-not-a-real-key-0000', NEW_OPENAI_KEY));
  const thirdRun = await render(t, ws);
  const again = await notify(n);
  t.ok(again.ok, again.detail);
  t.match(again.detail, /apply_rendered -> changed \$OPENAI_API_KEY; PEM cache cleared/, 'only the changed variable, by name');
  t.equal(text(await call('os', 'getenv', [[...'OPENAI_API_KEY'].map((c) => c.charCodeAt(0))])), NEW_OPENAI_KEY, 'os:getenv on the node gives the new key');
  const newConn = probe(t, node.node, SAMPLE_COOKIE, { port, tls: distTls }, 'erlmcp_probe2');
  t.ok(isAtom(await newConn('erlang', 'node'), node.node), 'a new TLS distribution connection with the rotated files works');

  assertNoLeak(t, [o.detail, again.detail, logs(), firstRun, secondRun, thirdRun], [NEW_PASSWORD, SAMPLE_PASSWORD, SAMPLE_COOKIE, NEW_OPENAI_KEY, 'sk-SAMPLE-not-a-real-key-0000', 'sk-ant-SAMPLE-not-a-real-key-0000']);
});

t.test('a missing sys.config changes nothing and says which file', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('miss'), cookie: COOKIE_A, codePaths: [appEbin], extraArgs: ['-eval', 'ok = application:start(erlmcp_core)'] });
  const cookieFile = path.join(work, 'miss.cookie');
  writeFileSync(cookieFile, COOKIE_A);
  const missing = path.join(work, 'nope', 'sys.config');
  const n = new ErlangNotifier(config({ node: node.node, cookieFile, epmdPort: nodes.epmdPort, apply: { configFiles: [missing], beamFile: BEAM } }), { baseDir: work });
  t.teardown(() => n.close());
  const o = await notify(n);
  t.notOk(o.ok);
  t.match(o.detail, `erlmcp_secrets_reload:apply_rendered refused: cannot read ${missing}: no such file or directory`);

  const noBeam = new ErlangNotifier(config({ node: node.node, cookieFile, epmdPort: nodes.epmdPort, apply: { configFiles: [], beamFile: path.join(work, 'none.beam') } }), { baseDir: work, role: 'b' });
  t.teardown(() => noBeam.close());
  const b = await notify(noBeam);
  t.notOk(b.ok);
  t.match(b.detail, /cannot read the reload module .*none\.beam \(ENOENT\): compile templates\/erlang\/erlmcp_secrets_reload\.erl/);
});

/** two connected nodes, and a probe connected to the first (it stays up across rotations) */
async function connectedPair(t: Test, nodes: ErlangNodes, cookie: string): Promise<[RunningNode, RunningNode, (m: string, f: string, a?: Term[]) => Promise<Term>]> {
  const a = await nodes.start({ sname: uniqueName('ca'), cookie, codePaths: [appEbin] });
  const b = await nodes.start({ sname: uniqueName('cb'), cookie, codePaths: [appEbin] });
  const call = probe(t, a.node, cookie, { epmdPort: nodes.epmdPort }, 'pair_probe');
  t.ok(isAtom(await call('net_kernel', 'connect_node', [atom(b.node)]), 'true'), 'the two nodes are connected');
  t.ok(isAtom(await call('erlmcp_core_fixture', 'watch_node', [atom(b.node)]), 'ok'));
  return [a, b, call];
}

t.test('cookie rotation across two connected nodes, without a dropped connection', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const [a, b, viaOld] = await connectedPair(t, nodes, COOKIE_A);
  const cookieFile = path.join(work, 'pair.cookie');
  writeFileSync(cookieFile, COOKIE_A);
  const { logger, text: logs } = memoryLogger();
  const n = new ErlangNotifier(config({ node: a.node, cookieFile, epmdPort: nodes.epmdPort, cookieRotation: 'cluster', apply: { configFiles: [], beamFile: BEAM } }), { baseDir: work, logger });
  t.teardown(() => n.close());
  t.ok((await notify(n)).ok, 'the first reload, with the cookie both run');

  writeFileSync(cookieFile, COOKIE_B);
  const o = await notify(n);
  t.ok(o.ok, o.detail);
  t.match(o.detail, /cookie rotated on the node and 1 of 1 connected nodes, confirmed by a new connection/);
  t.notOk(existsSync(`${cookieFile}.previous`), 'the kept previous cookie is gone once the node confirmed the new one');

  // the probe connected with A before the rotation and is still up
  t.ok(isAtom(await viaOld('erlang', 'get_cookie'), COOKIE_B), 'node A runs the new cookie');
  t.ok(isAtom(await viaOld('erpc', 'call', [atom(b.node), atom('erlang'), atom('get_cookie'), []]), COOKIE_B), 'node B runs the new cookie');
  t.same(await viaOld('erlang', 'nodes'), [atom(b.node)], 'A and B are still connected');
  t.equal(await viaOld('erlmcp_core_fixture', 'nodedowns'), 0, 'the connection between them never dropped');
  const newToB = probe(t, b.node, COOKIE_B, { epmdPort: nodes.epmdPort }, 'b_probe');
  t.ok(isAtom(await newToB('erlang', 'node'), b.node), 'a new connection to B with the new cookie is accepted');
  const oldToB = new ErlDistClient({ node: b.node, cookie: COOKIE_A, epmdPort: nodes.epmdPort, localNodeName: `b_old@${b.node.split('@')[1]}` });
  t.teardown(() => oldToB.close());
  const refused = await oldToB.connect().then(() => undefined, (e: unknown) => e as { kind?: string });
  t.equal(refused?.kind, 'cookie', 'and one with the old cookie is refused');
  assertNoLeak(t, [o.detail, logs()], [COOKIE_A, COOKIE_B]);
});

t.test('a restarted agent reaches a node that still runs the previous cookie, then rotates it', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({ sname: uniqueName('rs'), cookie: COOKIE_A, fixedPort: port, codePaths: [appEbin] });
  const cookieFile = path.join(work, 'restart.cookie');
  writeFileSync(cookieFile, COOKIE_A);
  const logs: string[] = [];

  // the first agent: cookieRotation off, so the node stays on A while the rendered file says B
  const first = memoryLogger();
  const one = new ErlangNotifier(config({ node: node.node, cookieFile, port, cookieRotation: 'off', apply: { beamFile: BEAM } }), { baseDir: work, logger: first.logger });
  t.ok((await notify(one)).ok);
  writeFileSync(cookieFile, COOKIE_B);
  const kept = await notify(one);
  t.ok(kept.ok, kept.detail);
  t.match(kept.detail, /the node still runs the previous cookie \(cookieRotation: off\)/);
  const previous = `${cookieFile}.previous`;
  t.equal(readFileSync(previous, 'latin1'), COOKIE_A, 'the cookie the node runs is kept beside the cookie file');
  t.equal(statSync(previous).mode & 0o777, 0o400, 'with mode 0400');
  one.close(); // the agent goes away
  logs.push(kept.detail, first.text());

  // a new agent knows only the files: the new cookie, then the kept previous one
  const second = memoryLogger();
  const two = new ErlangNotifier(config({ node: node.node, cookieFile, port, apply: { beamFile: BEAM } }), { baseDir: work, logger: second.logger });
  t.teardown(() => two.close());
  const o = await notify(two);
  t.ok(o.ok, o.detail);
  t.match(o.detail, /cookie rotated on the node, confirmed by a new connection \(connected with the kept in \.previous cookie: the node has not picked up the new one yet\)$/);
  t.match(second.text(), /"cookieUsed":"kept in .previous"/);
  t.notOk(existsSync(previous), '.previous is removed after the node confirmed');
  const viaB = probe(t, node.node, COOKIE_B, { port }, 'rs_probe');
  t.ok(isAtom(await viaB('erlang', 'get_cookie'), COOKIE_B), 'the node runs the new cookie');
  logs.push(o.detail, second.text());
  assertNoLeak(t, logs, [COOKIE_A, COOKIE_B]);
});

/** a sidecar config in dir: the cookie secret from dir/secrets, rendered to out/erlang.cookie (plus more templates), the erlang reload of node */
function sidecarConfig(dir: string, node: string, port: number, moreTemplates: string[] = []): string {
  const cfg = path.join(dir, 'agent.yaml');
  writeFileSync(cfg, `providers: { local: { type: file, path: ./secrets } }
secrets:
  cookie: { provider: local, require: { value: { minLength: 20 } } }
output: { root: ./out }
templates:
  - { contents: "{{cookie.value}}", destination: erlang.cookie, mode: "0400" }
${moreTemplates.map((m) => `  - ${m}\n`).join('')}reload:
  - { type: erlang, node: "${node}", cookieFile: ./out/erlang.cookie, port: ${port}, apply: { beamFile: ${JSON.stringify(BEAM)} }, timeout: 10s }
refresh: { interval: 1h }
server: { listen: "127.0.0.1:0" }
`);
  return cfg;
}

/** `erlmcp-secrets run -c cfg` as a child process, its output collected; killed at teardown */
function startSidecar(t: Test, cfg: string): { child: ChildProcess; exited: Promise<number | null>; output(): string; waitFor(re: RegExp): Promise<void> } {
  const child = spawn(process.execPath, [ENTRY, 'run', '-c', cfg], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
  // until the output matches, the child exits, or 30 s pass (the caller asserts what it waited for)
  const waitFor = async (re: RegExp): Promise<void> => {
    const end = Date.now() + 30_000;
    while (!re.test(output) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  };
  return { child, exited, output: () => output, waitFor };
}

t.test('a restarted sidecar (erlmcp-secrets run) finishes a rotation left unfinished, at start', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({ sname: uniqueName('side'), cookie: COOKIE_A, fixedPort: port, codePaths: [appEbin] });
  const dir = mkdtempSync(path.join(work, 'sidecar-'));
  mkdirSync(path.join(dir, 'secrets/cookie'), { recursive: true });
  mkdirSync(path.join(dir, 'out'));
  writeFileSync(path.join(dir, 'secrets/cookie/value'), COOKIE_B);
  // what an agent that stopped between keeping the old cookie and setting the new one leaves
  writeFileSync(path.join(dir, 'out/erlang.cookie.previous'), COOKIE_A, { mode: 0o400 });
  const cfg = sidecarConfig(dir, node.node, port);
  const side = startSidecar(t, cfg);
  await side.waitFor(/the node confirmed the new cookie/);
  const output = side.output();
  t.match(output, /a cookie rotation was left unfinished \(a .previous cookie is kept\): finishing it now/);
  t.match(output, /"cookieUsed":"kept in .previous"/, 'it reached the node with the kept cookie');
  t.match(output, /the node confirmed the new cookie/);
  t.notOk(existsSync(path.join(dir, 'out/erlang.cookie.previous')), '.previous is gone');
  const viaB = probe(t, node.node, COOKIE_B, { port }, 'side_probe');
  t.ok(isAtom(await viaB('erlang', 'get_cookie'), COOKIE_B), 'the node runs the new cookie');
  side.child.kill('SIGTERM');
  t.equal(await side.exited, 0, 'stops cleanly');
  assertNoLeak(t, side.output(), [COOKIE_A, COOKIE_B]);
});

t.test('a sidecar does not rotate the cookie while another file holding it failed to write; it does once that write lands', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({ sname: uniqueName('pend'), cookie: COOKIE_A, fixedPort: port, codePaths: [appEbin] });
  const dir = mkdtempSync(path.join(work, 'pending-'));
  mkdirSync(path.join(dir, 'secrets/cookie'), { recursive: true });
  writeFileSync(path.join(dir, 'secrets/cookie/value'), COOKIE_A);
  const out = path.join(dir, 'out');
  // erlmcp's release reads RELX_COOKIE from the env file when it (re)starts
  // (the renderer quotes values in a .env destination)
  const cfg = sidecarConfig(dir, node.node, port, [`{ contents: "RELX_COOKIE={{cookie.value}}\\n", destination: env/erlmcp.env, mode: "0400" }`]);
  const side = startSidecar(t, cfg);
  const { child } = side;
  await side.waitFor(/sidecar running/);
  t.match(side.output(), /sidecar running/);
  t.equal(readFileSync(path.join(out, 'env/erlmcp.env'), 'utf8'), `RELX_COOKIE='${COOKIE_A}'\n`, 'the env file holds the cookie the node runs');

  // out/env becomes a regular file: every write of env/erlmcp.env fails until it is removed
  rmSync(path.join(out, 'env'), { recursive: true });
  writeFileSync(path.join(out, 'env'), 'not a directory\n');
  writeFileSync(path.join(dir, 'secrets/cookie/value'), COOKIE_B);
  child.kill('SIGHUP');
  await side.waitFor(/cookie rotation deferred/);
  let output = side.output();
  t.match(output, /writing a re-rendered file failed/, 'the env file write failed');
  t.match(output, /erlang reload: cookie rotation deferred: 1 rendered file\(s\) not written yet \([^)]*env\/erlmcp\.env\)/);
  t.notMatch(output, /the node confirmed the new cookie/, 'no rotation');
  t.equal(readFileSync(path.join(out, 'erlang.cookie'), 'latin1'), COOKIE_B, 'the cookie file holds the new cookie');
  t.equal(readFileSync(path.join(out, 'erlang.cookie.previous'), 'latin1'), COOKIE_A, 'the cookie the node runs is kept in .previous');
  const viaA = probe(t, node.node, COOKIE_A, { port }, 'pend_probe_a');
  t.ok(isAtom(await viaA('erlang', 'get_cookie'), COOKIE_A), 'a new connection with the old cookie works: the node still runs it');

  // the write can land again: the next check writes it, and the rotation completes
  rmSync(path.join(out, 'env'));
  child.kill('SIGHUP');
  await side.waitFor(/the node confirmed the new cookie/);
  output = side.output();
  t.match(output, /rendered file written after an earlier failed write/);
  t.match(output, /the node confirmed the new cookie/);
  t.equal(readFileSync(path.join(out, 'env/erlmcp.env'), 'utf8'), `RELX_COOKIE='${COOKIE_B}'\n`, 'the env file holds the new cookie');
  t.notOk(existsSync(path.join(out, 'erlang.cookie.previous')), '.previous is gone once the node confirmed');
  const viaB = probe(t, node.node, COOKIE_B, { port }, 'pend_probe_b');
  t.ok(isAtom(await viaB('erlang', 'get_cookie'), COOKIE_B), 'the node runs the new cookie');
  child.kill('SIGTERM');
  t.equal(await side.exited, 0, 'stops cleanly');
  assertNoLeak(t, side.output(), [COOKIE_A, COOKIE_B]);
});
