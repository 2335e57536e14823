// TLS distribution (-proto_dist inet_tls): the node requires a client
// certificate from our CA; the client verifies the node's certificate.
// Certificates are made per run with the openssl CLI.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ErlDistClient, type TlsFiles } from '../../agent/erldist/client.ts';
import { ErlDistError } from '../../agent/erldist/errors.ts';
import { formatTerm } from '../../agent/erldist/format.ts';
import { atom, isAtom, Tuple, type Term } from '../../agent/erldist/terms.ts';
import { ErlangNodes, uniqueName } from '../helpers/erlang-node.ts';
import { makeDistTlsFiles } from '../helpers/erlang-tls.ts';

const COOKIE = 'tls-test-cookie';

const dir = mkdtempSync(join(tmpdir(), 'erldist-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const files = makeDistTlsFiles(dir);
const clientTls: TlsFiles = { caFile: files.caFile, certFile: files.clientCertFile, keyFile: files.clientKeyFile };

const nodes = await ErlangNodes.forTest(t);
const node = await nodes.start({ sname: uniqueName('tls'), cookie: COOKIE, tlsOptFile: files.optFile });

async function failure(client: ErlDistClient): Promise<ErlDistError> {
  try {
    await client.call('erlang', 'node', []);
  } catch (e) {
    if (e instanceof ErlDistError) return e;
    throw e;
  } finally {
    client.close();
  }
  throw new Error('expected the call to fail');
}

t.test('a call over TLS distribution', async (t) => {
  const client = new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, tls: clientTls });
  t.teardown(() => client.close());
  t.strictSame(await client.call('erlang', 'node', []), atom(node.node));
  t.same(await client.call('erlang', 'nodes', [atom('hidden')]), [atom(client.localNodeName)], 'connected as a hidden node');
  // The node's own view of our connection: {ok, [{address, #net_address{protocol = tls}}, {type, hidden}, ...]}.
  const info = await client.call('net_kernel', 'node_info', [atom(client.localNodeName)]);
  t.ok(info instanceof Tuple && isAtom(info.elements[0], 'ok'), `node_info answers: ${formatTerm(info)}`);
  const items = info instanceof Tuple && Array.isArray(info.elements[1]) ? info.elements[1] : [];
  const field = (name: string): Term | undefined =>
    items.map((x) => (x instanceof Tuple && isAtom(x.elements[0], name) ? x.elements[1] : undefined)).find((x) => x !== undefined);
  const address = field('address');
  t.ok(address instanceof Tuple && isAtom(address.elements[0], 'net_address') && isAtom(address.elements[3], 'tls'),
    'the node sees a TLS distribution connection');
  t.strictSame(field('type'), atom('hidden'), 'and a hidden node');
  for (let i = 0; i < 3; i++) t.equal(await client.call('erlang', 'abs', [-i]), i, 'the connection carries several calls');
});

t.test('plain TCP to a TLS node is refused clearly', async (t) => {
  const e = await failure(new ErlDistClient({ node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, connectTimeoutMs: 5000 }));
  t.equal(e.kind, 'handshake');
  t.match(e.message, /(closed the connection after we sent our name|where a handshake status was expected).*-proto_dist inet_tls needs the TLS options/);
});

t.test('a node certificate from another CA is rejected', async (t) => {
  const e = await failure(new ErlDistClient({
    node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, connectTimeoutMs: 5000,
    tls: { ...clientTls, caFile: files.otherCaFile },
  }));
  t.equal(e.kind, 'unreachable');
  t.match(e.message, /TLS handshake failed .*check that the CA file signed the node's certificate/);
});

t.test('a client certificate the node does not trust is rejected', async (t) => {
  // The node's own certificate as our CA (so we trust the node) but a client
  // certificate issued by the other CA.
  const otherDir = mkdtempSync(join(tmpdir(), 'erldist-tls-other-'));
  t.teardown(() => rmSync(otherDir, { recursive: true, force: true }));
  const other = makeDistTlsFiles(otherDir);
  const e = await failure(new ErlDistClient({
    node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, connectTimeoutMs: 5000,
    tls: { caFile: files.caFile, certFile: other.clientCertFile, keyFile: other.clientKeyFile },
  }));
  t.equal(e.kind, 'unreachable');
  t.match(e.message, /TLS handshake failed .*unknown ca/, 'the node answers with an unknown-CA alert');
});

t.test('wrong cookie over TLS', async (t) => {
  const e = await failure(new ErlDistClient({
    node: node.node, cookie: 'not-the-cookie', epmdPort: nodes.epmdPort, connectTimeoutMs: 5000, tls: clientTls,
  }));
  t.equal(e.kind, 'cookie');
  t.match(e.message, /the node rejected our cookie/);
});

t.test('unreadable TLS files are a usage error', async (t) => {
  const e = await failure(new ErlDistClient({
    node: node.node, cookie: COOKIE, epmdPort: nodes.epmdPort, tls: { ...clientTls, keyFile: join(dir, 'missing.key') },
  }));
  t.equal(e.kind, 'usage');
  t.match(e.message, /cannot read the TLS files/);
});
