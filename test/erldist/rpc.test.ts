// The distribution client against real Erlang nodes (erl from erlang-nox):
// -sname and -name nodes found through EPMD, a node on a fixed port without
// EPMD, and every way a call can fail. Each node gets a unique name; each
// scope its own EPMD port; teardown kills all of it.

import t from 'tap';
import { ErlDistClient } from '../../agent/erldist/client.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import { atom, isAtom, ErlMap, Tuple, type Term } from '../../agent/erldist/terms.ts';
import { ErlangNodes, freePort, uniqueName } from '../helpers/erlang-node.ts';

const COOKIE = 'rpc-test-cookie-Zq81';

async function rejected(p: Promise<unknown>): Promise<ErlDistError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ErlDistError) return e;
    throw e;
  }
  throw new Error('expected the promise to reject');
}

function connectionId(nodesInfo: Term, ourName: string): Term | undefined {
  if (!Array.isArray(nodesInfo)) return undefined;
  for (const entry of nodesInfo) {
    if (entry instanceof Tuple && isAtom(entry.elements[0], ourName) && entry.elements[1] instanceof ErlMap) {
      return entry.elements[1].get(atom('connection_id'));
    }
  }
  return undefined;
}

t.test('-sname node found through EPMD', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  // A short net_ticktime makes the node tick every ~0.5 s and drop a peer that
  // stays silent for 2-2.5 s: staying connected while idle proves we answer ticks.
  const node = await nodes.start({ sname: uniqueName('rpc_s'), cookie: COOKIE, extraArgs: ['-kernel', 'net_ticktime', '2'] });
  const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
  t.teardown(() => client.close());

  const self = await client.call('erlang', 'node', []);
  t.strictSame(self, atom(node.node), 'erlang:node() is the node we asked for');

  const echoed = await client.call('lists', 'reverse', [[1, Buffer.from('bin'), new Tuple([atom('a'), 2.5]), 'x']]);
  t.equal(formatTerm(echoed), '[<<"x">>,{a,2.5},<<"bin">>,1]', 'arguments and result survive the trip');

  const visible = await client.call('erlang', 'nodes', []);
  const hidden = await client.call('erlang', 'nodes', [atom('hidden')]);
  t.same(visible, [], 'we are not a visible node');
  t.same(hidden, [atom(client.localNodeName)], 'we are connected as a hidden node under our fixed name');

  const info1 = await client.call('erlang', 'nodes', [atom('hidden'), new ErlMap([[atom('connection_id'), true]])]);
  const id1 = connectionId(info1, client.localNodeName);
  t.ok(id1 !== undefined, 'the node reports a connection id for us');
  for (let i = 0; i < 5; i++) t.equal(await client.call('erlang', 'length', [[1, 2, i]]), 3);
  await new Promise((r) => setTimeout(r, 3500));
  const info2 = await client.call('erlang', 'nodes', [atom('hidden'), new ErlMap([[atom('connection_id'), true]])]);
  t.equal(formatTerm(connectionId(info2, client.localNodeName) ?? 'none'), formatTerm(id1 ?? 'x'),
    'still the same connection after several calls and an idle period longer than net_ticktime');

  const parallel = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call('erlang', 'abs', [-i])));
  t.same(parallel, Array.from({ length: 20 }, (_, i) => i), 'concurrent calls each get their own reply');

  const second = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
  t.equal(second.localNodeName, client.localNodeName, 'the local node name is stable, not random per client');
  second.close();
});

t.test('-name (long names) node found through EPMD', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ name: `${uniqueName('rpc_l')}@127.0.0.1`, cookie: COOKIE });
  const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
  t.teardown(() => client.close());
  t.strictSame(await client.call('erlang', 'node', []), atom(node.node));
  const big = 2n ** 200n + 7n;
  t.equal(await client.call('erlang', '+', [big, 1]), big + 1n, 'bignums in both directions');
  const text = await client.call('unicode', 'characters_to_binary', [[...'héllo wörld ✓'].map((c) => c.codePointAt(0) as number)]);
  t.equal(Buffer.from(text as Uint8Array).toString('utf8'), 'héllo wörld ✓');
  t.match(client.localNodeName, /^erlmcp_secrets_[0-9a-f]{8}@.*\./, 'a long-names node gets a long local name');

  const wrong = new ErlDistClient({ node: node.node, cookie: 'nope', epmdPort: nodes.epmdPort });
  const e = await rejected(wrong.call('erlang', 'node', []));
  t.equal(e.kind, 'cookie', 'a wrong cookie is reported as such for long names too');
  wrong.close();
});

t.test('node on a fixed port without EPMD', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({ sname: uniqueName('rpc_p'), cookie: COOKIE, fixedPort: port });
  const direct = new ErlDistClient({ node: node.node, cookie: COOKIE, port });
  t.teardown(() => direct.close());
  t.strictSame(await direct.call('erlang', 'node', []), atom(node.node), 'reached directly on its port');

  const viaEpmd = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, connectTimeoutMs: 3000 });
  const e = await rejected(viaEpmd.call('erlang', 'node', []));
  t.equal(e.kind, 'unreachable', 'no EPMD runs for it');
  t.match(e.message, /cannot reach EPMD at .*connection refused/);

  const wrongCookie = new ErlDistClient({ node: node.node, cookie: 'nope', port });
  t.equal((await rejected(wrongCookie.call('erlang', 'node', []))).kind, 'cookie', 'wrong cookie on a fixed port');

  const wrongName = new ErlDistClient({ node: `someone_else@${node.node.split('@')[1]}`, cookie: COOKIE, port });
  const mismatch = await rejected(wrongName.call('erlang', 'node', []));
  t.equal(mismatch.kind, 'handshake');
  t.match(mismatch.message, new RegExp(`calls itself "${node.node}", not someone_else@`), 'a port that belongs to another node is refused');
});

t.test('node with a fixed listen port (inet_dist_listen_min/max), reached without asking EPMD', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const port = await freePort();
  const node = await nodes.start({
    sname: uniqueName('rpc_m'),
    cookie: COOKIE,
    extraArgs: ['-kernel', 'inet_dist_listen_min', String(port), '-kernel', 'inet_dist_listen_max', String(port)],
  });
  // An EPMD port where nothing listens: the call must not need it.
  const client = new ErlDistClient({ node: node.node, cookie: COOKIE, port, epmdPort: await freePort() });
  t.teardown(() => client.close());
  t.strictSame(await client.call('erlang', 'node', []), atom(node.node));
});

t.test('failures are clear errors, never hangs', async (t) => {
  const nodes = await ErlangNodes.forTest(t);
  const node = await nodes.start({ sname: uniqueName('rpc_f'), cookie: COOKIE });
  const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
  t.teardown(() => client.close());

  await t.test('wrong cookie', async (t) => {
    const wrongCookie = 'wrong-cookie-CANARY-7f3a9';
    const c = new ErlDistClient({ node: node.node, cookie: wrongCookie, epmdPort: nodes.epmdPort, connectTimeoutMs: 8000 });
    const started = Date.now();
    const e = await rejected(c.call('erlang', 'node', []));
    t.equal(e.kind, 'cookie');
    t.match(e.message, /the node rejected our cookie/);
    t.notMatch(e.message, /CANARY|rpc-test-cookie/, 'no cookie in the message');
    t.ok(Date.now() - started < 8000, 'fails on the close, not on the timeout');
    c.close();
  });

  await t.test('unknown node', async (t) => {
    const c = new ErlDistClient({ node: `${uniqueName('nobody')}@${node.node.split('@')[1]}`, cookie: COOKIE, epmdPort: nodes.epmdPort });
    const e = await rejected(c.call('erlang', 'node', []));
    t.equal(e.kind, 'not_found');
    t.match(e.message, /is not registered in EPMD/);
    t.match(e.message, node.node.split('@')[0] as string, 'lists the names EPMD does know');
  });

  await t.test('connection refused', async (t) => {
    const c = new ErlDistClient({ node: node.node, cookie: COOKIE, port: await freePort(), connectTimeoutMs: 3000 });
    const e = await rejected(c.call('erlang', 'node', []));
    t.equal(e.kind, 'unreachable');
    t.match(e.message, /connection refused/);
  });

  await t.test('a host that does not resolve', async (t) => {
    for (const port of [undefined, 4369]) {
      const c = new ErlDistClient({ node: 'erlmcp@no-such-host.invalid', cookie: COOKIE, connectTimeoutMs: 5000, ...(port ? { port } : {}) });
      const e = await rejected(c.call('erlang', 'node', []));
      t.equal(e.kind, 'unreachable');
      t.match(e.message, /host no-such-host.invalid does not resolve \(ENOTFOUND|EAI_AGAIN\)/, port ? 'direct port' : 'EPMD lookup');
    }
  });

  await t.test('a call that raises is {badrpc, {EXIT, ...}}', async (t) => {
    const e = await rejected(client.call('erlang', 'error', [atom('boom_from_test')]));
    t.equal(e.kind, 'badrpc');
    t.match(e.message, /erlang:error\/1 failed on node .*\{badrpc,\{'EXIT',\{boom_from_test,/);
    t.ok(e.reason instanceof Tuple && isAtom(e.reason.elements[0], 'EXIT'), 'the reason is available as a term');

    const undef = await rejected(client.call('no_such_module', 'f', [1]));
    t.match(undef.message, /\{badrpc,\{'EXIT',\{undef,\[\{no_such_module,f,1,\[\]\}/, 'undef shows M:F/Arity');

    const exit = await rejected(client.call('erlang', 'exit', [atom('gone')]));
    t.match(exit.message, /\{badrpc,\{'EXIT',gone\}\}/);

    // Stack frames carry the call's arguments; those may be secrets.
    const canary = 'SECRET-ARG-CANARY-91c2';
    const fc = await rejected(client.call('lists', 'nth', [0, [Buffer.from(canary)]]));
    t.equal(fc.kind, 'badrpc');
    t.match(fc.message, /function_clause/);
    t.notMatch(fc.message, canary, 'arguments in the stack trace are reduced to their count');

    t.strictSame(await client.call('erlang', 'node', []), atom(node.node), 'the connection survives a failed call');
  });

  await t.test('a call that times out', async (t) => {
    const started = Date.now();
    const slow = await rejected(client.call('timer', 'sleep', [3000], { timeoutMs: 300 }));
    t.equal(slow.kind, 'timeout');
    t.match(slow.message, /did not answer timer:sleep\/1 within 300 ms/);
    t.ok(Date.now() - started < 3000, 'the timeout fires long before the call ends');
    t.strictSame(await client.call('erlang', 'node', []), atom(node.node), 'the connection stays usable; the late reply is dropped');
  });

  await t.test('a call the caller aborts', async (t) => {
    const ac = new AbortController();
    const pending = rejected(client.call('timer', 'sleep', [3000], { signal: ac.signal }));
    setTimeout(() => ac.abort(), 100);
    const e = await pending;
    t.equal(e.kind, 'timeout');
    t.match(e.message, /timer:sleep\/1 on node .* was aborted by the caller/);
    const already = await rejected(client.call('erlang', 'node', [], { signal: AbortSignal.abort() }));
    t.match(already.message, /aborted/, 'an already aborted signal sends nothing');
    t.strictSame(await client.call('erlang', 'node', []), atom(node.node));
  });
});

t.test('the node goes away in the middle of a call', async (t) => {
  const nodes = await ErlangNodes.forTest(t);

  await t.test('halted through another call', async (t) => {
    const node = await nodes.start({ sname: uniqueName('rpc_h'), cookie: COOKIE });
    const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, connectTimeoutMs: 3000 });
    t.teardown(() => client.close());
    await client.connect();
    const sleeping = rejected(client.call('timer', 'sleep', [20_000], { timeoutMs: 25_000 }));
    await new Promise((r) => setTimeout(r, 200));
    const halting = rejected(client.call('erlang', 'halt', [], { timeoutMs: 25_000 }));
    const [e, h] = await Promise.all([sleeping, halting]);
    t.equal(e.kind, 'closed');
    t.match(e.message, /went away while timer:sleep\/1 was running/);
    t.equal(h.kind, 'closed');
    await node.exited;
    const after = await rejected(client.call('erlang', 'node', []));
    t.ok(['not_found', 'unreachable'].includes(after.kind), `a later call reconnects and says why it cannot (${after.kind})`);
  });

  await t.test('killed from outside', async (t) => {
    const node = await nodes.start({ sname: uniqueName('rpc_k'), cookie: COOKIE });
    const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
    t.teardown(() => client.close());
    await client.connect();
    const sleeping = rejected(client.call('timer', 'sleep', [20_000], { timeoutMs: 25_000 }));
    await new Promise((r) => setTimeout(r, 200));
    await node.kill();
    const e = await sleeping;
    t.equal(e.kind, 'closed');
  });

  await t.test('closed by us', async (t) => {
    const node = await nodes.start({ sname: uniqueName('rpc_c'), cookie: COOKIE });
    const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort });
    await client.connect();
    const sleeping = rejected(client.call('timer', 'sleep', [20_000]));
    await new Promise((r) => setTimeout(r, 100));
    client.close();
    const e = await sleeping;
    t.equal(e.kind, 'closed');
    t.match(e.message, /the client was closed/);
    t.equal(client.connected, false);
    t.strictSame(await client.call('erlang', 'node', []), atom(node.node), 'call() after close() reconnects');
    client.close();
  });
});

t.test('bad arguments are refused before anything is sent', async (t) => {
  const kindOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return e instanceof ErlDistError ? `${e.kind}: ${e.message}` : String(e);
    }
    return 'no error';
  };
  t.match(kindOf(() => new ErlDistClient({ node: 'no-at-sign', cookie: COOKIE })), /^usage: .*must look like name@host/);
  t.match(kindOf(() => new ErlDistClient({ node: 'a@b', cookie: '' })), /^usage: the Erlang cookie is empty/);
  t.match(kindOf(() => new ErlDistClient({ node: 'a@b', cookie: COOKIE, port: 70000 })), /^usage: .*not a TCP port/);
  t.match(kindOf(() => new ErlDistClient({ node: 'a@b', cookie: COOKIE, localNodeName: 'x y@z' })), /^usage: local node name/);
  const c = new ErlDistClient({ node: 'a@127.0.0.1', cookie: COOKIE, port: 1 });
  const e = await rejected(c.call('m', 'f', [Number.NaN as unknown as Term]));
  t.equal(e.kind, 'encode', 'an unencodable argument fails without connecting');
});
