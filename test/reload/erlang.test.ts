// The `erlang` reload notifier against real Erlang nodes (erl from
// erlang-nox, each test file with its own EPMD): calls and `expect`, what a
// failure says (and never says), node down without hanging, cookie rotation,
// one kept connection under one fixed hidden name (no atoms leak on the node).
// The node runs erlang_reload_stub.erl (next to this file), a stand-in for
// erlmcp_config whose reload/0 re-reads a term file.

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { reloadSchema } from '../../agent/config/reload-schema.ts';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import { atom, isAtom, type Term } from '../../agent/erldist/terms.ts';
import { forgetSecretValues } from '../../agent/log/secret-registry.ts';
import { ErlangNotifier, erlangNotifierFactory, type ErlangNotifierDeps, type ErlangReloadConfig } from '../../agent/reload/erlang.ts';
import type { Outcome } from '../../agent/reload/notifier.ts';
import { runNotifiers } from '../../agent/reload/run-notifiers.ts';
import { ErlangNodes, freePort, uniqueName, type RunningNode } from '../helpers/erlang-node.ts';
import { makeDistTlsFiles } from '../helpers/erlang-tls.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const COOKIE_A = 'cookieAlphaCANARY0a1b2c3d4e5f';
const COOKIE_B = 'cookieBravoCANARY9f8e7d6c5b4a';
const API_KEY = 'CANARY-api-key-5e6f7a8b-value';
const CHANGE = { secrets: ['app'], files: ['/tmp/x'] };

const work = mkdtempSync(path.join(tmpdir(), 'erlang-notifier-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
t.teardown(() => forgetSecretValues());
const ebin = path.join(work, 'ebin');
execFileSync('mkdir', ['-p', ebin]);
execFileSync('erlc', ['-o', ebin, path.join(import.meta.dirname, 'erlang_reload_stub.erl')], { stdio: 'pipe' });

let seq = 0;
function termFile(value: string): string {
  const file = path.join(work, `app-${++seq}.config`);
  writeFileSync(file, `{api_key, <<"${value}">>}.\n`);
  return file;
}

function cookieFile(cookie: string): string {
  const file = path.join(work, `cookie-${++seq}`);
  writeFileSync(file, `${cookie}\n`);
  return file;
}

function config(raw: Record<string, unknown>): ErlangReloadConfig {
  return reloadSchema.parse({ type: 'erlang', ...raw }) as ErlangReloadConfig;
}

async function startStubNode(nodes: ErlangNodes, cookie: string, file: string, extra: { sname?: string; fixedPort?: number } = {}): Promise<RunningNode> {
  return nodes.start({
    sname: extra.sname ?? uniqueName('reload'),
    cookie,
    codePaths: [ebin],
    extraArgs: ['-stub_file', file],
    ...(extra.fixedPort !== undefined ? { fixedPort: extra.fixedPort } : {}),
  });
}

/** our own connection to the node, to look at it from the test's side */
function probe(t: Test, node: RunningNode, cookie: string, where: { epmdPort?: number; port?: number }): (m: string, f: string, a?: Term[]) => Promise<Term> {
  const client = new ErlDistClient({ node: node.node, cookie, localNodeName: `erlang_notifier_probe@${node.node.split('@')[1]}`, ...where });
  t.teardown(() => client.close());
  return (m, f, a = []) => client.call(m, f, a, { timeoutMs: 10_000 });
}

function notifierFor(t: Test, cfg: ErlangReloadConfig, deps: Partial<ErlangNotifierDeps> = {}): { n: ErlangNotifier; logs(): string } {
  const { logger, text } = memoryLogger();
  const n = new ErlangNotifier(cfg, { baseDir: work, logger, ...deps });
  t.teardown(() => n.close());
  return { n, logs: text };
}

const notify = (n: ErlangNotifier): Promise<Outcome> => n.notify(CHANGE, new AbortController().signal);

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

t.test('a call with expect, a list of calls, and one kept connection under a fixed name', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await startStubNode(nodes, COOKIE_A, termFile(API_KEY));
  const call = probe(t, node, COOKIE_A, { epmdPort: nodes.epmdPort });
  const cfg = config({ node: node.node, cookieFile: cookieFile(COOKIE_A), call: 'erlang_reload_stub:reload()', expect: 'ok', epmdPort: nodes.epmdPort, timeout: '5s' });
  const { n, logs } = notifierFor(t, cfg);
  t.equal(n.kind, 'erlang');
  t.equal(n.timeoutMs, 5000);
  t.equal(n.describe(), `erlang erlang_reload_stub:reload() on ${node.node}`);

  const first = await notify(n);
  t.ok(first.ok, first.detail);
  t.equal(first.detail, `erlang erlang_reload_stub:reload() on ${node.node}: erlang_reload_stub:reload() -> ok (connected)`);
  t.equal(Buffer.from((await call('erlang_reload_stub', 'value')) as Uint8Array).toString(), API_KEY, 'the node re-read the file');
  t.equal(await call('erlang_reload_stub', 'reloads'), 1);
  const hidden = (await call('erlang', 'nodes', [atom('hidden')])) as Term[];
  t.ok(hidden.some((h) => isAtom(h, n.localNodeName)), 'the notifier is a hidden node on the target');
  t.same(await call('erlang', 'nodes', []), [], 'and not a visible one');
  t.match(n.localNodeName, /^erlmcp_secrets_reload_[0-9a-f]{8}@/, 'a fixed name derived from the host, not a random one');

  // Warm-up done; from here on the node's atom table must not grow however
  // often we notify or reconnect.
  const atomsBefore = (await call('erlang', 'system_info', [atom('atom_count')])) as number;
  for (let i = 0; i < 20; i++) {
    const o = await notify(n);
    t.ok(o.ok && o.detail.endsWith('(reused the connection)'), `notify ${i + 2} reuses the connection`);
  }
  for (let i = 0; i < 5; i++) {
    t.strictSame(await call('erlang', 'disconnect_node', [atom(n.localNodeName)]), atom('true'), 'the node drops our connection');
    await until('the notifier to see the close', () => !n.connected);
    const o = await notify(n);
    t.ok(o.ok && o.detail.endsWith('(connected)'), `reconnect ${i + 1}: ${o.detail}`);
  }
  const atomsAfter = (await call('erlang', 'system_info', [atom('atom_count')])) as number;
  t.equal(atomsAfter, atomsBefore, `atom_count stays at ${atomsBefore} after 20 notifies and 5 reconnects`);
  t.equal(await call('erlang_reload_stub', 'reloads'), 26, 'every notify ran the call once');
  const hiddenAfter = (await call('erlang', 'nodes', [atom('hidden')])) as Term[];
  t.same(hiddenAfter.filter((a) => formatTerm(a).startsWith('erlmcp_secrets')), [atom(n.localNodeName)], 'still one name for the notifier');

  const other = new ErlangNotifier(cfg, { baseDir: work });
  t.equal(other.localNodeName, n.localNodeName, 'the name is the same for every notifier built the same way (agent restarts)');
  const make = erlangNotifierFactory({ baseDir: work });
  const [x, y] = [make(cfg), make(cfg)];
  t.not(x.localNodeName, y.localNodeName, 'two notifiers of one agent get two fixed names, so neither replaces the other');
  t.match(y.localNodeName, /^erlmcp_secrets_reload1_/);

  // a list of calls, in order; expect applies to each
  const list = notifierFor(t, config({ node: node.node, cookieFile: cookieFile(COOKIE_A), epmdPort: nodes.epmdPort, expect: 'ok',
    call: ['erlang_reload_stub:reload()', 'erlang_reload_stub:slow(10)', 'erlang_reload_stub:reload()'] }), { role: 'list' });
  const lo = await notify(list.n);
  t.ok(lo.ok, lo.detail);
  t.match(lo.detail, /reload\(\) -> ok; erlang_reload_stub:slow\(10\) -> ok; erlang_reload_stub:reload\(\) -> ok/);
  t.equal(await call('erlang_reload_stub', 'reloads'), 28);

  // a list stops at the first failure and says what ran before it
  const stops = notifierFor(t, config({ node: node.node, cookieFile: cookieFile(COOKIE_A), epmdPort: nodes.epmdPort, expect: 'ok',
    call: ['erlang_reload_stub:reload()', 'erlang_reload_stub:value()', 'erlang_reload_stub:reload()'] }), { role: 'stops' });
  const so = await notify(stops.n);
  t.notOk(so.ok);
  t.match(so.detail, /erlang_reload_stub:value\(\) returned '<\d+-byte binary>', expected ok \(after erlang_reload_stub:reload\(\) -> ok\)/);
  t.equal(await call('erlang_reload_stub', 'reloads'), 29, 'the third call did not run');
  assertNoLeak(t, [first.detail, lo.detail, so.detail, logs(), list.logs(), stops.logs()], [API_KEY, COOKIE_A]);
});

t.test('failures: expect mismatch, badrpc, undefined function; no value from the node is shown', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await startStubNode(nodes, COOKIE_A, termFile(API_KEY));
  const base = { node: node.node, cookieFile: cookieFile(COOKIE_A), epmdPort: nodes.epmdPort };
  const outs: string[] = [];

  const mismatch = notifierFor(t, config({ ...base, call: 'erlang_reload_stub:leak_result()', expect: 'ok' }), { role: 'a' });
  const m = await notify(mismatch.n);
  t.notOk(m.ok);
  t.match(m.detail, `erlang_reload_stub:leak_result() returned {loaded,'<${API_KEY.length}-byte binary>'}, expected ok`);
  outs.push(m.detail, mismatch.logs());

  const crash = notifierFor(t, config({ ...base, call: 'erlang_reload_stub:leak_crash()', expect: 'ok' }), { role: 'b' });
  const c = await notify(crash.n);
  t.notOk(c.ok);
  t.match(c.detail, /erlang_reload_stub:leak_crash\(\) failed on the node: \{badrpc,\{'EXIT',\{\{bad_key,'<\d+-byte binary>','<\d+-character string>'\},\[/);
  outs.push(c.detail, crash.logs());

  const undef = notifierFor(t, config({ ...base, call: 'erlmcp_config:reload()', expect: 'ok' }), { role: 'c' });
  const u = await notify(undef.n);
  t.notOk(u.ok);
  t.match(u.detail, /erlmcp_config:reload\(\) failed on the node: \{badrpc,\{'EXIT',\{undef,\[\{erlmcp_config,reload,0,\[\]\}/, 'undef names the missing M:F/A');

  const noExpect = notifierFor(t, config({ ...base, call: 'erlang_reload_stub:leak_result()' }), { role: 'd' });
  const ne = await notify(noExpect.n);
  t.ok(ne.ok, 'without expect any result is success');
  t.match(ne.detail, /leak_result\(\) -> \{loaded,'<\d+-byte binary>'\}/, 'and the result is shown without its text');
  outs.push(ne.detail, noExpect.logs());

  const term = notifierFor(t, config({ ...base, call: 'erlang:list_to_tuple([ok, "done"])', expect: '{ok, "done"}' }), { role: 'e' });
  const te = await notify(term.n);
  t.ok(te.ok, `expect is compared as a term, not as text: ${te.detail}`);

  const slow = notifierFor(t, config({ ...base, call: 'erlang_reload_stub:slow(5000)', timeout: '400ms' }), { role: 'f' });
  const started = Date.now();
  const so = await notify(slow.n);
  t.notOk(so.ok);
  t.match(so.detail, /did not answer erlang_reload_stub:slow\/1 within \d+ ms/);
  t.ok(Date.now() - started < 4000, 'gives up at its timeout, not when the call ends');
  t.notOk(slow.n.connected, 'a timed-out call drops the connection; the next notify starts fresh');

  assertNoLeak(t, outs, [API_KEY, COOKIE_A]);
});

t.test('node down or unreachable: ok false with a clear detail, bounded by the timeout', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await startStubNode(nodes, COOKIE_A, termFile(API_KEY));
  const host = node.node.split('@')[1];
  const file = cookieFile(COOKIE_A);

  const unknown = notifierFor(t, config({ node: `nobody@${host}`, cookieFile: file, call: 'erlang_reload_stub:reload()', epmdPort: nodes.epmdPort }));
  const u = await notify(unknown.n);
  t.notOk(u.ok);
  t.match(u.detail, /node down or unreachable: node nobody@\S+ is not registered in EPMD .*registered there: reload_/);

  const refused = notifierFor(t, config({ node: `ghost@${host}`, cookieFile: file, call: 'erlang_reload_stub:reload()', port: await freePort() }));
  const r = await notify(refused.n);
  t.notOk(r.ok);
  t.match(r.detail, /node down or unreachable: cannot connect to ghost@\S+ at .*connection refused/);

  const noCookie = notifierFor(t, config({ node: node.node, cookieFile: path.join(work, 'no-such-cookie'), call: 'erlang_reload_stub:reload()', epmdPort: nodes.epmdPort }));
  const nc = await notify(noCookie.n);
  t.notOk(nc.ok);
  t.match(nc.detail, /no cookie: cannot read the cookie file .*no-such-cookie \(ENOENT\)/);

  // A frozen node accepts the TCP connection and then says nothing.
  const frozen = notifierFor(t, config({ node: node.node, cookieFile: file, call: 'erlang_reload_stub:reload()', epmdPort: nodes.epmdPort, timeout: '800ms' }));
  node.proc.kill('SIGSTOP');
  t.teardown(() => void node.proc.kill('SIGCONT'));
  const started = Date.now();
  const f = await notify(frozen.n);
  t.notOk(f.ok);
  t.match(f.detail, /no answer in time: .* did not complete within \d+ ms/);
  t.ok(Date.now() - started < 5000, 'returns at its own deadline');
  const [viaRunner] = await runNotifiers([frozen.n], CHANGE, memoryLogger().logger);
  t.notOk(viaRunner?.ok);
  t.match(viaRunner?.detail, /timed out|no answer in time/, 'under runNotifiers too');
  node.proc.kill('SIGCONT');
  const back = await notify(frozen.n);
  t.ok(back.ok, `after the node resumes, the next notify works: ${back.detail}`);
  assertNoLeak(t, [u.detail, r.detail, nc.detail, f.detail, unknown.logs(), frozen.logs()], [COOKIE_A]);
});

t.test('cookieRotation off, on a fixed-port node (no EPMD): the old cookie until the node restarts, then the new one', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const sname = uniqueName('rot');
  const file = termFile(API_KEY);
  let node = await startStubNode(nodes, COOKIE_A, file, { sname, fixedPort: port });
  const cookiePath = cookieFile(COOKIE_A);
  const { n, logs } = notifierFor(t, config({ node: node.node, cookieFile: cookiePath, call: 'erlang_reload_stub:reload()', expect: 'ok', port, timeout: '5s', cookieRotation: 'off' }));
  let call = probe(t, node, COOKIE_A, { port });

  const first = await notify(n);
  t.equal(first.detail.replace(/^.*: /, ''), 'erlang_reload_stub:reload() -> ok (connected)');

  // The agent renders cookie B; the node still runs with A.
  writeFileSync(cookiePath, COOKIE_B);
  const kept = await notify(n);
  t.ok(kept.ok && kept.detail.endsWith('(reused the connection)'), 'an open connection stays in use');
  await call('erlang', 'disconnect_node', [atom(n.localNodeName)]);
  await until('the notifier to see the close', () => !n.connected);
  const old = await notify(n);
  t.ok(old.ok, old.detail);
  t.match(old.detail, /the node still runs the previous cookie \(cookieRotation: off\) \(connected with the previous cookie: the node has not picked up the new one yet\)$/);
  t.match(logs(), /"cookieUsed":"previous","cookieRotated":true/, 'the log says which cookie worked');

  // The node restarts and comes up with B.
  await node.kill();
  await until('the notifier to see the node go', () => !n.connected);
  node = await startStubNode(nodes, COOKIE_B, file, { sname, fixedPort: port });
  call = probe(t, node, COOKIE_B, { port });
  const fresh = await notify(n);
  t.ok(fresh.ok, fresh.detail);
  t.match(fresh.detail, /\(connected with the new cookie: the node rejected the previous one\)$/);
  t.equal(await call('erlang_reload_stub', 'reloads'), 1, 'the restarted node ran the reload');
  t.match(logs(), /"cookieUsed":"current","cookieRotated":true/);

  await call('erlang', 'disconnect_node', [atom(n.localNodeName)]);
  await until('the notifier to see the close', () => !n.connected);
  const settled = await notify(n);
  t.ok(settled.ok && settled.detail.endsWith('(connected)'), 'B is now the trusted cookie: no rejected attempt first');

  // Neither cookie works: both are named as rejected, by role, not by value.
  writeFileSync(cookiePath, 'cookieCharlieCANARY00000000');
  await node.kill();
  node = await startStubNode(nodes, 'cookieDeltaCANARY11111111', file, { sname, fixedPort: port });
  await until('the notifier to see the node go', () => !n.connected);
  const none = await notify(n);
  t.notOk(none.ok);
  t.match(none.detail, /rejected the previous cookie and the current cookie: check the cookie the node runs with/);
  assertNoLeak(t, [first.detail, old.detail, fresh.detail, none.detail, logs()], [COOKIE_A, COOKIE_B, 'cookieCharlieCANARY00000000', 'cookieDeltaCANARY11111111', API_KEY]);
});

t.test('cookieSecret: the cookie comes from the store, and rotates the same way', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await startStubNode(nodes, COOKIE_A, termFile(API_KEY));
  const data: Record<string, string> = { value: COOKIE_A };
  const store = { get: (name: string) => (name === 'cookie' ? { value: { data } } : undefined) };
  const { n, logs } = notifierFor(t, config({ node: node.node, cookieSecret: 'cookie.value', call: 'erlang_reload_stub:reload()', expect: 'ok', epmdPort: nodes.epmdPort }), { store });
  const call = probe(t, node, COOKIE_A, { epmdPort: nodes.epmdPort });
  t.ok((await notify(n)).ok);
  data.value = COOKIE_B;
  await call('erlang', 'disconnect_node', [atom(n.localNodeName)]);
  await until('the notifier to see the close', () => !n.connected);
  const o = await notify(n);
  t.ok(o.ok, o.detail);
  t.match(o.detail, /previous cookie/);

  const missing = notifierFor(t, config({ node: node.node, cookieSecret: 'cookie.nokey', call: 'erlang_reload_stub:reload()', epmdPort: nodes.epmdPort }), { store, role: 'm' });
  const mo = await notify(missing.n);
  t.notOk(mo.ok);
  t.match(mo.detail, /no cookie: cookieSecret cookie.nokey: secret "cookie" has no non-empty key "nokey"/);
  t.throws(() => new ErlangNotifier(config({ node: node.node, cookieSecret: 'cookie.value', call: 'm:f()' }), { baseDir: work }), /needs a secret store/);
  assertNoLeak(t, [o.detail, mo.detail, logs()], [COOKIE_A, COOKIE_B]);
});

t.test('TLS distribution, with file paths relative to the config directory', async (t) => {
  const tlsDir = path.join(work, 'tls');
  execFileSync('mkdir', ['-p', tlsDir]);
  const files = makeDistTlsFiles(tlsDir);
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('tls'), cookie: COOKIE_A, tlsOptFile: files.optFile, codePaths: [ebin], extraArgs: ['-stub_file', termFile(API_KEY)] });
  const rel = (f: string): string => path.relative(work, f);
  const tls = { caFile: rel(files.caFile), certFile: rel(files.clientCertFile), keyFile: rel(files.clientKeyFile) };
  const { n } = notifierFor(t, config({ node: node.node, cookieFile: rel(cookieFile(COOKIE_A)), call: 'erlang_reload_stub:reload()', expect: 'ok', epmdPort: nodes.epmdPort, tls }));
  const o = await notify(n);
  t.ok(o.ok, o.detail);

  const wrongCa = notifierFor(t, config({ node: node.node, cookieFile: rel(cookieFile(COOKIE_A)), call: 'erlang_reload_stub:reload()', epmdPort: nodes.epmdPort, tls: { ...tls, caFile: rel(files.otherCaFile) } }), { role: 'x' });
  const w = await notify(wrongCa.n);
  t.notOk(w.ok);
  t.match(w.detail, /node down or unreachable: cannot connect to .*\(TLS\): TLS handshake failed/);
});
