// The Vault transport's own HTTP/1.1 client (transport.ts over http1.ts) on
// the wire: against a real OpenBao dev server (metadata reads on one kept
// connection, a chunked answer, 404 and 403, calls in parallel), and against
// raw sockets that answer as no Vault does: Connection: close, a body that runs
// to the close, interim 100s, an answer dripped a byte at a time, an endless
// head, bytes nobody asked for on an idle connection, garbage. Each ends in
// an answer or in a coded error errors.ts words, within bounded time, without
// the bytes sent in any message.

import t, { type Test } from 'tap';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { VaultHttp } from '../../agent/providers/vault/client.ts';
import { type VaultCallContext, transportFailure } from '../../agent/providers/vault/errors.ts';
import { TRANSPORT_CLOSED, VaultTransport } from '../../agent/providers/vault/transport.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { makeCertificate } from '../helpers/openssl-certs.ts';
import { startDevBao } from '../helpers/openbao.ts';

const CANARY = 'CANARY-wire-5d8c2b7e1f';
const CANARY_TOKEN = 'CANARY-token-hvs-61ae03f9';

/** a raw TCP server on 127.0.0.1; `accepted()` counts its connections */
async function rawServer(t: Test, onSocket: (s: net.Socket) => void): Promise<{ url: string; accepted: () => number }> {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    n++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, accepted: () => n };
}

/** calls fn for every request head that arrives on s, with its request
 * line; a body its Content-Length announces (a POST's JSON) is skipped */
function onRequests(s: net.Socket, fn: (n: number, line: string) => void): void {
  let buf = '';
  let n = 0;
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    let i: number;
    while ((i = buf.indexOf('\r\n\r\n')) !== -1) {
      const line = buf.slice(0, buf.indexOf('\r\n'));
      const length = /\r\ncontent-length: (\d+)/i.exec(buf.slice(0, i));
      buf = buf.slice(i + 4 + (length ? Number(length[1]) : 0));
      fn(++n, line);
    }
  });
}

function transport(t: Test, timeoutMs = 5000): VaultTransport {
  const tr = new VaultTransport({ timeoutMs, rejectUnauthorized: true });
  t.teardown(() => tr.close());
  return tr;
}

const ok = (body: string, extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

const rejection = (p: Promise<unknown>): Promise<Error & { code?: string }> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code?: string },
  );

function context(address: string): VaultCallContext {
  return { provider: 'vault', address, namespace: undefined, path: 'secret/metadata/app', action: 'reading secret/metadata/app', where: 'secrets.app', capability: 'read', sensitive: [CANARY_TOKEN] };
}

t.test('a real OpenBao: metadata reads on one kept connection, a chunked answer, 404, 403, calls in parallel', async (t) => {
  const bao = await startDevBao(t);
  const big = 'b'.repeat(20_000);
  await bao.ok('POST', 'secret/data/app', { data: { password: CANARY } });
  await bao.ok('POST', 'secret/data/app', { data: { password: `${CANARY}-2` } });
  await bao.ok('POST', 'secret/data/big', { data: { big } });
  // the agent talks to OpenBao through a relay that counts its connections
  const relay = await rawServer(t, (client) => {
    const upstream = net.connect(Number(new URL(bao.url).port), '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  const v = new VaultHttp({ address: relay.url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 10_000 });
  t.teardown(() => v.close());

  for (let i = 0; i < 50; i++) {
    const meta = await v.call('GET', 'secret/metadata/app', { token: bao.rootToken });
    if (meta.status !== 200 || (meta.body as { data: { current_version: number } }).data.current_version !== 2) {
      t.fail(`metadata read ${i}: ${meta.status}`);
      return;
    }
  }
  t.pass('50 metadata reads in a row, each current_version 2');
  t.equal(relay.accepted(), 1, 'all 50 on one kept connection');

  // precondition: Go's server sends a body this size in chunks, with no length
  const framing = await new Promise<string | undefined>((resolve, reject) => {
    http.get(`${bao.url}/v1/secret/data/big`, { headers: { 'X-Vault-Token': bao.rootToken } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['transfer-encoding']));
    }).on('error', reject);
  });
  t.equal(framing, 'chunked', 'precondition: OpenBao answers the big secret chunked');
  const read = await v.call('GET', 'secret/data/big', { token: bao.rootToken });
  t.equal((read.body as { data: { data: { big: string } } }).data.data.big, big, 'the chunked answer, whole');

  const missing = await v.call('GET', 'secret/metadata/nothing-here', { token: bao.rootToken });
  t.equal(missing.status, 404);
  const denied = await v.call('GET', 'secret/metadata/app', { token: CANARY_TOKEN });
  t.equal(denied.status, 403, 'a token OpenBao does not know: 403 with its JSON errors');
  t.match(denied.body, { errors: [/permission denied/] });
  t.equal(relay.accepted(), 1, 'the chunked answer, the 404 and the 403 on the same kept connection');

  const parallel = await Promise.all([...Array(8).keys()].map(() => v.call('GET', 'secret/metadata/app', { token: bao.rootToken })));
  t.same(parallel.map((r) => r.status), Array(8).fill(200), '8 calls at once');
  t.equal(relay.accepted(), 8, 'each on its own connection: the kept one and 7 new');
  const after = await v.call('GET', 'secret/data/app', { token: bao.rootToken });
  t.equal((after.body as { data: { data: { password: string } } }).data.data.password, `${CANARY}-2`, 'and the kept connections serve the next call');
  t.equal(relay.accepted(), 8, 'on a kept connection, not a new one');
});

t.test('Connection: close and a body that runs to the close: read, and the next call opens a new connection', async (t) => {
  let mode: 'close-header' | 'until-close' = 'close-header';
  const s = await rawServer(t, (sock) =>
    onRequests(sock, () => {
      if (mode === 'close-header') sock.end(ok('{"n":1}', 'Connection: close\r\n'));
      else sock.end('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"n":2}');
    }),
  );
  const tr = transport(t);
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/a` })).body, { n: 1 });
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/a` })).body, { n: 1 });
  t.equal(s.accepted(), 2, 'Connection: close: one connection per call');
  mode = 'until-close';
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/b` })).body, { n: 2 }, 'no length: the body is what came before the close');
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/b` })).body, { n: 2 });
  t.equal(s.accepted(), 4);
});

t.test('interim 100 Continue, then the answer; an answer dripped a byte at a time', async (t) => {
  const answer = `HTTP/1.1 100 Continue\r\n\r\n${ok(`{"v":"${'d'.repeat(60)}"}`)}`;
  const s = await rawServer(t, (sock) =>
    onRequests(sock, () => {
      let i = 0;
      const timer = setInterval(() => {
        if (sock.destroyed || i >= answer.length) return clearInterval(timer);
        sock.write(answer[i++]!);
      }, 2);
    }),
  );
  const tr = transport(t);
  const r = await tr.send({ method: 'GET', uri: `${s.url}/v1/a` });
  t.same([r.statusCode, r.body], [200, { v: 'd'.repeat(60) }]);
  t.equal((await tr.send({ method: 'GET', uri: `${s.url}/v1/a` })).statusCode, 200, 'a second one on the same connection');
  t.equal(s.accepted(), 1);
});

t.test('an endless head is cut at its bound, not at the timeout, and the server sees the close', async (t) => {
  let closed!: () => void;
  const serverSawClose = new Promise<void>((r) => (closed = r));
  const s = await rawServer(t, (sock) => {
    sock.on('close', closed);
    onRequests(sock, () => {
      sock.write('HTTP/1.1 200 OK\r\n');
      const pump = (): void => {
        while (!sock.destroyed && sock.write(`X-${CANARY}: ${'h'.repeat(1000)}\r\n`));
        if (!sock.destroyed) sock.once('drain', pump);
      };
      pump();
    });
  });
  const started = Date.now();
  const v = new VaultHttp({ address: s.url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 60_000 });
  t.teardown(() => v.close());
  const e = await rejection(v.call('GET', 'secret/metadata/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ERR_VAULT_BAD_HTTP');
  t.ok(Date.now() - started < 30_000, 'well before the 60 s timeout');
  await serverSawClose;
  const m = transportFailure(context(s.url), e);
  t.same([m.code, m.retryable, m.cause], ['unavailable', false, { code: 'ERR_VAULT_BAD_HTTP' }]);
  t.equal(
    m.message,
    `vault provider "vault": Vault at ${s.url} answered reading secret/metadata/app with something that is not HTTP/1.1 as Vault sends it (headers longer than 65536 bytes): is address Vault's API, not another service on that port?`,
  );
  assertNoLeak(t, [e.message, String(e.stack), m.message], [CANARY, CANARY_TOKEN]);
});

t.test('another service on the port (an SSH banner, garbage): a clear error, never its bytes', async (t) => {
  const s = await rawServer(t, (sock) => onRequests(sock, () => sock.end(`SSH-2.0-OpenSSH_9.6 ${CANARY}\r\n\r\n`)));
  const v = new VaultHttp({ address: s.url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 5000 });
  t.teardown(() => v.close());
  const e = await rejection(v.call('GET', 'secret/metadata/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ERR_VAULT_BAD_HTTP');
  const m = transportFailure(context(s.url), e);
  t.match(m.message, /something that is not HTTP\/1\.1 as Vault sends it \(no HTTP\/1\.x status line\)/);
  assertNoLeak(t, [e.message, m.message], [CANARY, CANARY_TOKEN]);
});

t.test('bytes nobody asked for on an idle connection: it is dropped, the next call goes on a new one', async (t) => {
  const s = await rawServer(t, (sock) =>
    onRequests(sock, (n) => {
      if (n > 1) return void sock.write(ok('{"wrong":"connection"}'));
      sock.write(ok('{"n":1}'));
      // an answer to nothing, after ours: never to be read as the next call's
      setTimeout(() => sock.write(ok(`{"forged":"${CANARY}"}`)), 50);
    }),
  );
  const tr = transport(t);
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/a` })).body, { n: 1 });
  await new Promise((r) => setTimeout(r, 300));
  const second = await tr.send({ method: 'GET', uri: `${s.url}/v1/a` });
  t.same(second.body, { n: 1 }, 'the forged answer was not taken for this call');
  t.equal(s.accepted(), 2, 'on a new connection');
});

t.test('a header value with a line break never reaches the wire', async (t) => {
  const s = await rawServer(t, (sock) => onRequests(sock, () => sock.write(ok('{}'))));
  const v = new VaultHttp({ address: s.url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 5000 });
  t.teardown(() => v.close());
  const e = await rejection(v.call('GET', 'secret/metadata/app', { token: `${CANARY_TOKEN}\r\nX-Evil: 1` }));
  t.equal(e.code, 'ERR_INVALID_CHAR');
  t.equal(s.accepted(), 0, 'refused before any connection');
  assertNoLeak(t, [e.message], [CANARY_TOKEN]);
});

t.test('the path on the request line is what WHATWG URL makes of the URI, as node:http sent it', async (t) => {
  const lines: string[] = [];
  const s = await rawServer(t, (sock) => {
    let buf = '';
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) !== -1) {
        lines.push(buf.slice(0, buf.indexOf('\r\n')));
        buf = buf.slice(i + 4);
        sock.write(ok('{}'));
      }
    });
  });
  const tr = transport(t);
  const paths = [
    '/v1/secret/metadata/app',
    '/v1/secret/data/app?version=3',
    '/v1/secret/data/a%20b',
    '/v1/secret/./data/../data/app',
    '/v1/secret/data/%2e%2e/x',
    "/v1/secret/data/app?q=it's",
    '/v1/secret/data/a"b',
    '/v1/secret/data/{x}',
    '/v1/secret/data/app#frag',
    '/v1/secret/data/caf\u00e9',
  ];
  for (const p of paths) await tr.send({ method: 'GET', uri: `${s.url}${p}` });
  t.same(
    lines,
    paths.map((p) => {
      const u = new URL(`${s.url}${p}`);
      return `GET ${u.pathname}${u.search} HTTP/1.1`;
    }),
  );
  t.equal(s.accepted(), 1, 'one kept connection for all of them');
});

t.test('a header line without a colon is named whole in the operator message', async (t) => {
  const s = await rawServer(t, (sock) => onRequests(sock, () => sock.end(`HTTP/1.1 200 OK\r\n${CANARY}\r\n\r\n{}`)));
  const v = new VaultHttp({ address: s.url, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 5000 });
  t.teardown(() => v.close());
  const e = await rejection(v.call('GET', 'secret/metadata/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ERR_VAULT_BAD_HTTP');
  const m = transportFailure(context(s.url), e);
  t.equal(
    m.message,
    `vault provider "vault": Vault at ${s.url} answered reading secret/metadata/app with something that is not HTTP/1.1 as Vault sends it (a header line that is not "name: value"): is address Vault's API, not another service on that port?`,
  );
  assertNoLeak(t, [e.message, m.message], [CANARY, CANARY_TOKEN]);
});

/** the request lines a raw server saw, in order */
function requestLines(): { seen: string[]; track: (s: net.Socket, fn: (line: string, nOnSocket: number) => void) => void } {
  const seen: string[] = [];
  return {
    seen,
    track: (s, fn) =>
      onRequests(s, (n, line) => {
        seen.push(line);
        fn(line, n);
      }),
  };
}

t.test('a POST on a kept connection that dies before the answer is never sent again; a GET is, once', async (t) => {
  const r = requestLines();
  // each connection: its first request answered and kept, the second dropped unanswered (Vault acted on it, or its idle close)
  const s = await rawServer(t, (sock) => r.track(sock, (_line, n) => (n === 1 ? sock.write(ok('{"n":1}')) : sock.destroy())));
  const tr = transport(t);
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/sys/health` })).body, { n: 1 });
  const e = await rejection(tr.send({ method: 'POST', uri: `${s.url}/v1/pki/issue/web`, json: { common_name: 'a' } }));
  t.equal(e.code, 'ECONNRESET', 'the POST fails with the socket error');
  t.same(r.seen.filter((l) => l.startsWith('POST')), ['POST /v1/pki/issue/web HTTP/1.1'], 'the POST reached the server once, never again');

  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/sys/health` })).body, { n: 1 }, 'a GET on a new connection');
  const before = s.accepted();
  t.same((await tr.send({ method: 'GET', uri: `${s.url}/v1/secret/data/app` })).body, { n: 1 }, 'a GET whose kept connection died is sent again and answered');
  t.equal(r.seen.filter((l) => l === 'GET /v1/secret/data/app HTTP/1.1').length, 2, 'the GET was sent twice: once on the dead connection, once on a new one');
  t.equal(s.accepted(), before + 1, 'the retry opened one new connection');
});

t.test('a POST takes a kept connection only if it was idle for under a second, else a new one', async (t) => {
  const r = requestLines();
  const s = await rawServer(t, (sock) => r.track(sock, () => sock.write(ok('{}'))));
  const tr = transport(t);
  await tr.send({ method: 'GET', uri: `${s.url}/v1/a` });
  await tr.send({ method: 'POST', uri: `${s.url}/v1/b`, json: {} });
  t.equal(s.accepted(), 1, 'idle for a moment: the POST reuses the connection');
  await new Promise((res) => setTimeout(res, 1200));
  await tr.send({ method: 'POST', uri: `${s.url}/v1/c`, json: {} });
  t.equal(s.accepted(), 2, 'idle over a second: the POST opens a new connection');
  await new Promise((res) => setTimeout(res, 1200));
  await tr.send({ method: 'GET', uri: `${s.url}/v1/d` });
  t.equal(s.accepted(), 2, 'a GET reuses a connection idle for over a second (it may be retried)');
});

t.test('the stale-socket retry shares the first attempt timeout: the call ends at timeoutMs, not twice that', async (t) => {
  const TIMEOUT = 3000;
  let requests = 0;
  const s = await rawServer(t, (sock) =>
    onRequests(sock, () => {
      if (++requests === 1) return void sock.write(ok('{}'));
      // the kept connection dies late, just before the timeout; the retry's connection never answers
      setTimeout(() => sock.destroy(), 2500);
    }),
  );
  const tr = transport(t, TIMEOUT);
  await tr.send({ method: 'GET', uri: `${s.url}/v1/a` });
  const started = performance.now();
  const e = await rejection(tr.send({ method: 'GET', uri: `${s.url}/v1/b` }));
  const took = performance.now() - started;
  t.equal(e.code, 'ETIMEDOUT');
  t.equal(s.accepted(), 2, 'it was retried on a new connection');
  t.ok(took < TIMEOUT + 1800, `ended after ${Math.round(took)} ms: within the one timeout (plus margin), not a second one`);
});

t.test('close() during a request ends it as closed, never retried, and no request is sent after', async (t) => {
  const r = requestLines();
  let got!: () => void;
  const second = new Promise<void>((res) => (got = res));
  const s = await rawServer(t, (sock) => r.track(sock, (_line, n) => (n === 1 ? sock.write(ok('{}')) : got())));
  const tr = new VaultTransport({ timeoutMs: 3000, rejectUnauthorized: true });
  await tr.send({ method: 'GET', uri: `${s.url}/v1/a` });
  const pending = rejection(tr.send({ method: 'GET', uri: `${s.url}/v1/b` }));
  await second;
  const started = performance.now();
  tr.close();
  const e = await pending;
  t.equal(e.code, TRANSPORT_CLOSED);
  t.match(e.message, /closed/);
  t.ok(performance.now() - started < 1000, 'at once, not at the timeout');
  const after = await rejection(tr.send({ method: 'GET', uri: `${s.url}/v1/c` }));
  t.equal(after.code, TRANSPORT_CLOSED, 'a call after close() is refused');
  await new Promise((res) => setTimeout(res, 300));
  t.equal(s.accepted(), 1, 'no new connection after close()');
  t.equal(r.seen.length, 2, 'no request sent after close()');
});

t.test('at most 4 idle connections per origin are kept; the rest are closed on release', async (t) => {
  let closed = 0;
  const waiting: net.Socket[] = [];
  const s = await rawServer(t, (sock) => {
    sock.on('close', () => closed++);
    // hold the first 8 answers until all 8 requests are in, so they need 8 connections
    onRequests(sock, () => {
      waiting.push(sock);
      if (waiting.length === 8) for (const w of waiting.splice(0)) w.write(ok('{}'));
    });
  });
  const tr = transport(t);
  await Promise.all(Array.from({ length: 8 }, (_, i) => tr.send({ method: 'GET', uri: `${s.url}/v1/${i}` })));
  t.equal(s.accepted(), 8, '8 calls at once: 8 connections');
  const until = Date.now() + 5000;
  while (closed < 4 && Date.now() < until) await new Promise((res) => setTimeout(res, 20));
  await new Promise((res) => setTimeout(res, 100));
  t.equal(closed, 4, 'the server saw 4 of them closed');
  // the 4 kept ones serve the next 4 calls at once
  const next = Promise.all(Array.from({ length: 4 }, (_, i) => tr.send({ method: 'GET', uri: `${s.url}/v1/n${i}` })));
  await new Promise((res) => setTimeout(res, 200));
  for (const w of waiting.splice(0)) w.write(ok('{}'));
  await next;
  t.equal(s.accepted(), 8, 'no new connection for them');
});

t.test('https by host name: SNI carries the name, the certificate is checked against it, one kept connection', async (t) => {
  const cert = makeCertificate({ days: 1, cn: 'localhost', extensions: ['subjectAltName=DNS:localhost'] });
  /** the SNI of every handshake the server began, whether or not the client accepted its certificate */
  const names: string[] = [];
  const context = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem, SNICallback: (name, cb) => (names.push(name), cb(null, context)) }, (sock) => {
    sock.on('error', () => {});
    onRequests(sock, () => sock.write(ok('{"tls":true}')));
  });
  const sockets = new Set<net.Socket>();
  server.on('secureConnection', (s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  const url = `https://localhost:${(server.address() as AddressInfo).port}`;
  const tr = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true, ca: cert.certPem });
  t.teardown(() => tr.close());
  t.same((await tr.send({ method: 'GET', uri: `${url}/v1/sys/health` })).body, { tls: true });
  t.same((await tr.send({ method: 'GET', uri: `${url}/v1/secret/data/app` })).body, { tls: true });
  t.same(names, ['localhost'], 'one TLS connection for both calls, whose SNI was the host name');

  const wrongName = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true, ca: cert.certPem, servername: 'vault.example' });
  t.teardown(() => wrongName.close());
  const e = await rejection(wrongName.send({ method: 'GET', uri: `${url}/v1/sys/health` }));
  t.equal(e.code, 'ERR_TLS_CERT_ALTNAME_INVALID', 'servername wins over the host name, and is checked');
  t.equal(names.at(-1), 'vault.example', 'and is what SNI carries');
});
