// The Vault transport (agent/providers/vault/transport.ts) that node-vault is
// given in place of axios, against real servers on 127.0.0.1: the Vault fake
// (JSON both ways, 204), a TLS Vault with a test CA, a server that never
// answers (timeout), one that closes the socket, one that trickles, a proxy
// page that is not JSON, a standby's 307, an abort mid-request, a kept-alive
// socket that Vault closed. Each failure reaches errors.ts as the same
// operator message as before, and no body's contents reach a message.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { AgentError } from '../../agent/errors.ts';
import { VaultHttp, type VaultHttpOptions } from '../../agent/providers/vault/client.ts';
import { type VaultCallContext, httpFailure, transportFailure } from '../../agent/providers/vault/errors.ts';
import { create } from '../../agent/providers/vault/provider.ts';
import { MAX_BODY_BYTES, NonJsonBody, VaultTransport } from '../../agent/providers/vault/transport.ts';
import { makeTestPki } from '../fakes/vault/certs.ts';
import { vaultHarness } from '../fakes/vault/harness.ts';
import { startVaultFake } from '../fakes/vault/index.ts';
import { ROOT } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

// no word of a source path in it: a stack trace names transport.ts
const CANARY = 'CANARY-wq7z-4e71c0d9b2';
const CANARY_TOKEN = 'CANARY-token-hvs-9a8b7c6d5e';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function listen(t: Teardown, server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        (server as http.Server).closeAllConnections?.();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** counts the TCP connections a server accepts, and tells when each closes */
function connections(server: net.Server): { count: () => number; closed: Promise<void> } {
  let n = 0;
  let onClose!: () => void;
  const closed = new Promise<void>((resolve) => (onClose = resolve));
  server.on('connection', (socket: net.Socket) => {
    n++;
    socket.on('close', onClose);
  });
  return { count: () => n, closed };
}

function vaultHttp(t: Teardown, address: string, extra: Partial<VaultHttpOptions> = {}): VaultHttp {
  const v = new VaultHttp({ address, namespace: undefined, ca: undefined, serverName: undefined, insecureSkipVerify: false, timeoutMs: 5000, ...extra });
  t.teardown(() => v.close());
  return v;
}

function context(address: string, extra: Partial<VaultCallContext> = {}): VaultCallContext {
  return {
    provider: 'vault',
    address,
    namespace: undefined,
    path: 'secret/data/app',
    action: 'reading secret/data/app',
    where: 'secrets.app',
    capability: 'read',
    sensitive: [CANARY_TOKEN],
    ...extra,
  };
}

const rejection = (p: Promise<unknown>): Promise<Error & { code?: string }> =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error & { code?: string },
  );

t.test('against the Vault fake: JSON body out, JSON body in, 204 with no body', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const v = vaultHttp(t, vault.url, { namespace: undefined });
  const written = await v.call('POST', 'secret/data/app', { token: vault.rootToken, body: { data: { password: CANARY } } });
  t.equal(written.status, 200);
  t.equal((written.body as { data: { version: number } }).data.version, 1, 'the JSON body arrived: KV v2 wrote version 1');
  const read = await v.call('GET', 'secret/data/app', { token: vault.rootToken });
  t.same([read.status, (read.body as { data: { data: unknown } }).data.data], [200, { password: CANARY }], 'the JSON answer is parsed');
  const deleted = await v.call('POST', 'secret/delete/app', { token: vault.rootToken, body: { versions: [1] } });
  t.same(deleted, { status: 204, body: undefined }, '204: no body');
  const denied = await v.call('GET', 'secret/data/app', {});
  t.equal(denied.status, 403, 'a non-2xx answer comes back as a status, not a throw');
  t.ok(vault.requests.every((r) => r.path.startsWith('/v1/')), 'node-vault still builds the URI');
});

t.test('on the wire: headers, body, one kept-alive connection for several calls', async (t) => {
  const seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { n: seen.length } }));
    });
  });
  const conns = connections(server);
  const url = await listen(t, server);
  const v = vaultHttp(t, url, { namespace: 'team-a' });
  t.same((await v.call('POST', 'auth/approle/login', { body: { role_id: 'r', secret_id: CANARY } })).body, { data: { n: 1 } });
  t.same((await v.call('GET', 'secret/data/a b', { token: CANARY_TOKEN })).body, { data: { n: 2 } });
  t.same((await v.call('GET', 'secret/data/c', { token: CANARY_TOKEN })).body, { data: { n: 3 } });
  t.equal(seen[0]!.method, 'POST');
  t.equal(seen[0]!.url, '/v1/auth/approle/login');
  t.equal(seen[0]!.headers['content-type'], 'application/json');
  t.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength(seen[0]!.body)));
  t.same(JSON.parse(seen[0]!.body), { role_id: 'r', secret_id: CANARY });
  t.equal(seen[0]!.headers['x-vault-namespace'], 'team-a');
  t.equal(seen[0]!.headers['x-vault-token'], undefined, 'no token on a login');
  t.equal(seen[1]!.headers['x-vault-namespace'], 'team-a', 'a read (sent without node-vault) carries the namespace too');
  t.same([seen[1]!.method, seen[1]!.url, seen[1]!.headers['x-vault-token'], seen[1]!.body], ['GET', '/v1/secret/data/a%20b', CANARY_TOKEN, '']);
  t.equal(conns.count(), 1, 'keep-alive: one connection for three calls');
});

t.test('a kept-alive socket that Vault closed is retried once on a new connection; a fresh one is not', async (t) => {
  const perSocket = new Map<net.Socket, number>();
  const server = http.createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    // the first connection's second request: Vault's idle timeout closed it under us
    if (perSocket.size === 1 && n === 2) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const conns = connections(server);
  const url = await listen(t, server);
  const transport = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true });
  t.teardown(() => transport.close());
  t.same((await transport.send({ method: 'GET', uri: `${url}/v1/a` })).body, { ok: true });
  t.same((await transport.send({ method: 'GET', uri: `${url}/v1/b` })).body, { ok: true }, 'the second call succeeds');
  t.equal(conns.count(), 2, 'on a second connection');

  const closer = net.createServer((socket) => socket.once('data', () => socket.destroy()));
  const closerConns = connections(closer);
  const closerUrl = await listen(t, closer);
  const e = await rejection(transport.send({ method: 'GET', uri: `${closerUrl}/v1/a` }));
  t.equal(e.code, 'ECONNRESET');
  t.equal(closerConns.count(), 1, 'a fresh socket that fails is not retried');
});

t.test('204 from any server: no body, status 204', async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(204).end());
  const url = await listen(t, server);
  const transport = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true });
  t.teardown(() => transport.close());
  t.same(await transport.send({ method: 'PUT', uri: `${url}/v1/sys/leases/revoke`, json: { lease_id: 'x' } }), { statusCode: 204, body: undefined, request: { path: '/v1/sys/leases/revoke' }, headers: {} });
  t.same(await vaultHttp(t, url).call('PUT', 'sys/leases/revoke', { body: { lease_id: 'x' } }), { status: 204, body: undefined });
});

t.test('a body that is not JSON becomes a clear value and a clear error, never its text', async (t) => {
  let status = 200;
  const page = `<html><body>Login to continue. ${CANARY}</body></html>`;
  const server = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(page));
  const url = await listen(t, server);
  const transport = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true });
  t.teardown(() => transport.close());
  const raw = await transport.send({ method: 'GET', uri: `${url}/v1/secret/data/app` });
  t.ok(raw.body instanceof NonJsonBody);
  t.same({ ...(raw.body as NonJsonBody) }, { contentType: 'text/html; charset=utf-8', bytes: Buffer.byteLength(page), httpToHttps: false }, 'its type and size only');

  const v = vaultHttp(t, url);
  const e = await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ERR_VAULT_NOT_JSON', 'a 2xx page is a failure, not an empty secret');
  const m1 = transportFailure(context(url), e);
  t.same([m1.code, m1.retryable], ['unavailable', false]);
  t.equal(
    m1.message,
    `vault provider "vault": this is not Vault's API at ${url}: reading secret/data/app was answered HTTP 200, text/html; charset=utf-8, ${Buffer.byteLength(page)} bytes that are not JSON (Vault answers everything in JSON); address must be Vault's own URL with no path (e.g. https://vault.vault.svc:8200), not a web page, a proxy path or another service`,
  );
  t.same(m1.cause, { code: 'ERR_VAULT_NOT_VAULT', status: 200 });

  // a proxy's error page is not Vault either, but a proxy in front of a restarting Vault recovers: retried
  status = 502;
  const m2 = transportFailure(context(url), await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN })));
  t.same([m2.code, m2.retryable], ['unavailable', true]);
  t.match(m2.message, `this is not Vault's API at ${url}: reading secret/data/app was answered HTTP 502, text/html`);

  status = 404;
  const m4 = transportFailure(context(url), await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN })));
  t.same([m4.code, m4.retryable], ['unavailable', false], 'a 404 page is not a missing secret');

  status = 200;
  const h = await vaultHarness(t);
  const p = await create('vault', { type: 'vault', address: url, auth: { method: 'token', tokenFile: h.file('t', CANARY_TOKEN) } }, h.ctx);
  t.teardown(() => p.close());
  const m3 = await rejection(p.fetch({ name: 'app', spec: { path: 'secret/data/app' } }, new AbortController().signal));
  t.ok(m3 instanceof AgentError);
  t.match(m3.message, /^vault provider "vault": this is not Vault's API at http:\/\/127\.0\.0\.1:\d+: looking up the Vault token was answered HTTP 200, text\/html; charset=utf-8, \d+ bytes/, 'through the provider');
  assertNoLeak(t, [e.message, m1.message, m2.message, m3.message, m4.message, ...h.logLines], [CANARY, CANARY_TOKEN]);
});

t.test('a body larger than the bound is cut off, with or without a content-length, and says so', async (t) => {
  t.equal(MAX_BODY_BYTES, 32 * 1024 * 1024, "the default bound is Vault's own max_request_size");
  const LIMIT = 64 * 1024;
  const filler = `{"data":{"v":"${CANARY.repeat(Math.ceil((LIMIT * 4) / CANARY.length))}"}}`;
  let mode: 'declared' | 'chunked' | 'endless' | 'at-limit' = 'declared';
  const server = http.createServer((_req, res) => {
    if (mode === 'declared') return res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(filler) }).end(filler);
    if (mode === 'at-limit') {
      const body = `{"data":{"v":"${'x'.repeat(LIMIT - 17)}"}}`; // exactly LIMIT bytes
      return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
    res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length announced
    if (mode === 'chunked') return res.end(filler);
    // endless: writes until the client goes away
    const pump = (): void => {
      while (!res.destroyed && res.write(CANARY.repeat(256)));
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => (stopped = true));
    pump();
  });
  let stopped = false;
  const url = await listen(t, server);
  const v = vaultHttp(t, url, { maxBodyBytes: LIMIT });
  const messages: string[] = [];
  for (const m of ['declared', 'chunked', 'endless'] as const) {
    mode = m;
    const e = await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN }));
    t.equal(e.code, 'ERR_VAULT_BODY_TOO_LARGE', `${m}: refused`);
    const a = transportFailure(context(url), e);
    t.same([a.code, a.retryable], ['unavailable', false], `${m}: a wrong address does not fix itself`);
    t.equal(
      a.message,
      `vault provider "vault": Vault at ${url} answered reading secret/data/app with more than ${LIMIT} bytes, more than Vault ever sends (its max_request_size): is address Vault's API, not a file server or a stream?`,
    );
    messages.push(e.message, a.message);
  }
  // the server sees the close once the client destroyed the socket
  for (let i = 0; i < 200 && !stopped; i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(stopped, 'the endless answer stopped: the socket was closed, not drained');

  mode = 'at-limit';
  const ok = await v.call('GET', 'secret/data/app', { token: CANARY_TOKEN });
  t.equal((ok.body as { data: { v: string } }).data.v.length, LIMIT - 17, 'a body of exactly the bound is read');

  const mib = transportFailure(context(url), Object.assign(new Error('x'), { code: 'ERR_VAULT_BODY_TOO_LARGE', limit: MAX_BODY_BYTES }));
  t.match(mib.message, /with more than 32 MiB, more than Vault ever sends/, 'the default reads as 32 MiB');
  assertNoLeak(t, messages, [CANARY, CANARY_TOKEN]);
});

t.test('timeout: a server that never answers, and one that trickles, are cut off at timeoutMs', async (t) => {
  const silent = net.createServer((socket) => socket.resume()); // accepts, reads, never answers
  const conns = connections(silent);
  const url = await listen(t, silent);
  const v = vaultHttp(t, url, { timeoutMs: 200 });
  const e = await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ETIMEDOUT');
  await conns.closed;
  t.pass('the server sees the connection closed: the request was ended, not just abandoned');
  const m = transportFailure(context(url, { timeoutMs: 200 }), e);
  t.same([m.code, m.retryable], ['unavailable', true]);
  t.equal(m.message, `vault provider "vault": Vault at ${url} did not answer within 0.2s while reading secret/data/app`);
  t.same(m.cause, { code: 'ETIMEDOUT' });

  // bytes keep coming, so no socket ever sits idle for timeoutMs: only a
  // deadline on the whole exchange stops this one
  const trickle = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(`{"data":{"v":"${CANARY}`);
    const timer = setInterval(() => res.write(' '), 40);
    res.on('close', () => clearInterval(timer));
  });
  const trickleUrl = await listen(t, trickle);
  const e2 = await rejection(vaultHttp(t, trickleUrl, { timeoutMs: 300 }).call('GET', 'secret/data/app'));
  t.equal(e2.code, 'ETIMEDOUT', 'the whole exchange has a deadline');
  assertNoLeak(t, [e.message, e2.message, m.message, transportFailure(context(trickleUrl), e2).message], [CANARY, CANARY_TOKEN]);
});

t.test('a server that closes the socket, before or in the middle of the answer', async (t) => {
  const closer = net.createServer((socket) => socket.once('data', () => socket.destroy()));
  const url = await listen(t, closer);
  const v = vaultHttp(t, url);
  const e = await rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN }));
  t.equal(e.code, 'ECONNRESET');
  const m = transportFailure(context(url), e);
  t.same([m.code, m.retryable], ['unavailable', true]);
  t.equal(m.message, `vault provider "vault": request to Vault at ${url} failed (ECONNRESET) while reading secret/data/app`);

  const half = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
    res.write(`{"data":{"password":"${CANARY}`, () => req.socket.destroy());
  });
  const halfUrl = await listen(t, half);
  const e2 = await rejection(vaultHttp(t, halfUrl).call('GET', 'secret/data/app', { token: CANARY_TOKEN }));
  t.equal(e2.code, 'ECONNRESET', 'a body cut short is a failure, not a half value');
  const m2 = transportFailure(context(halfUrl), e2);
  t.equal(m2.message, `vault provider "vault": request to Vault at ${halfUrl} failed (ECONNRESET) while reading secret/data/app`);
  assertNoLeak(t, [e.message, e2.message, m.message, m2.message, String(e2.stack)], [CANARY, CANARY_TOKEN]);
});

t.test('connection refused keeps its code', async (t) => {
  const gone = http.createServer();
  const url = await listen(t, gone);
  await new Promise<void>((resolve) => gone.close(() => resolve()));
  const e = await rejection(vaultHttp(t, url).call('GET', 'secret/data/app'));
  t.equal(e.code, 'ECONNREFUSED');
  t.equal(transportFailure(context(url), e).message, `vault provider "vault": cannot reach Vault at ${url}: connection refused (ECONNREFUSED) while reading secret/data/app; is Vault running there?`);
});

t.test('abort mid-request: the request is destroyed and the server sees the connection close', async (t) => {
  let seen!: () => void;
  const arrived = new Promise<void>((resolve) => (seen = resolve));
  let serverSawClose!: () => void;
  const closedOnServer = new Promise<void>((resolve) => (serverSawClose = resolve));
  const server = http.createServer((req) => {
    req.socket.on('close', serverSawClose);
    seen(); // and never answer
  });
  const conns = connections(server);
  const url = await listen(t, server);
  const v = vaultHttp(t, url, { timeoutMs: 60_000 });
  const ac = new AbortController();
  const reason = new AgentError('timeout', 'init.timeout of 2m ran out');
  const pending = rejection(v.call('GET', 'secret/data/app', { token: CANARY_TOKEN, signal: ac.signal }));
  await arrived;
  ac.abort(reason);
  t.equal(await pending, reason, "rejects with the signal's reason");
  await closedOnServer;
  t.pass('the server saw the connection close');

  const pre = new AbortController();
  pre.abort(reason);
  t.equal(await rejection(v.call('GET', 'secret/data/app', { signal: pre.signal })), reason, 'an aborted signal sends nothing');
  t.equal(conns.count(), 1, 'no connection for it');
});

t.test('a redirect (a standby pointing at the active node) is returned, not followed', async (t) => {
  const active = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  const activeConns = connections(active);
  const activeUrl = await listen(t, active);
  const standby = http.createServer((req, res) => res.writeHead(307, { location: `${activeUrl}${req.url}` }).end());
  const url = await listen(t, standby);
  const reply = await vaultHttp(t, url).call('GET', 'secret/data/app', { token: CANARY_TOKEN });
  t.same(reply, { status: 307, body: undefined });
  t.equal(activeConns.count(), 0, 'the token never went to the address the redirect named');
  const m = httpFailure(context(url), reply.status, reply.body);
  t.same([m.code, m.retryable], ['unavailable', true]);
  t.equal(
    m.message,
    `vault provider "vault": Vault at ${url} redirected reading secret/data/app elsewhere (HTTP 307), as a standby node does; point address at the active node or at the cluster's load balancer`,
  );
});

t.test('TLS: ca, servername and rejectUnauthorized as configured; failures keep their codes', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  const ca = readFileSync(pki.caFile, 'utf8');
  const otherCa = readFileSync(pki.otherCaFile, 'utf8');
  const vault = await startVaultFake({ tls: { cert: pki.cert, key: pki.key } });
  t.teardown(() => vault.close());
  vault.putKv('secret/app', { v: CANARY });
  const read = (opts: Partial<VaultHttpOptions>) => vaultHttp(t, vault.url, opts).call('GET', 'secret/data/app', { token: vault.rootToken });

  t.equal((await read({ ca })).status, 200, 'verified against the CA');
  t.equal((await read({ ca, serverName: 'vault.test' })).status, 200, 'verified against servername');
  t.equal((await read({ insecureSkipVerify: true })).status, 200, 'rejectUnauthorized: false');
  t.equal((await rejection(read({}))).code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'no CA: the system store does not know it');
  const wrong = await rejection(read({ ca: otherCa }));
  t.equal(wrong.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'the wrong CA');
  const m = transportFailure(context(vault.url, { caFile: pki.otherCaFile }), wrong);
  t.same([m.code, m.retryable], ['unavailable', false]);
  t.equal(m.message, `vault provider "vault": cannot verify the TLS certificate of Vault at ${vault.url} (UNABLE_TO_VERIFY_LEAF_SIGNATURE): check that tls.caFile (${pki.otherCaFile}) holds the CA that signed Vault's certificate`);
  t.equal((await rejection(read({ ca, serverName: 'other.test' }))).code, 'ERR_TLS_CERT_ALTNAME_INVALID', 'a name the certificate does not carry');
  assertNoLeak(t, [wrong.message, m.message], [CANARY, vault.rootToken]);
});

t.test('node:tls is loaded only for an https address, and node:https never', async (t) => {
  // Built as the bundle builds it (CommonJS), so that only what the
  // transport itself loads is loaded. Run in a fresh
  // process: the test runner itself has loaded both long ago.
  const dir = mkdtempSync(join(tmpdir(), 'vault-transport-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const built = await build({ entryPoints: [join(ROOT, 'agent/providers/vault/transport.ts')], bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'silent' });
  writeFileSync(join(dir, 'transport.cjs'), built.outputFiles[0]!.text);
  const script = `
    const http = require('node:http');
    const { VaultTransport } = require(${JSON.stringify(join(dir, 'transport.cjs'))});
    const loaded = () => ['https', 'tls'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
    const server = http.createServer((_q, s) => s.end('{}'));
    server.listen(0, '127.0.0.1', async () => {
      const port = server.address().port;
      const transport = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true });
      await transport.send({ method: 'GET', uri: 'http://127.0.0.1:' + port + '/v1/x' });
      const afterHttp = loaded();
      server.close();
      await transport.send({ method: 'GET', uri: 'https://127.0.0.1:' + port + '/v1/x' }).catch(() => {});
      transport.close();
      console.log(JSON.stringify({ afterHttp, afterHttps: loaded() }));
    });
  `;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', cwd: dir });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { afterHttp: [], afterHttps: ['tls'] }, 'the https transport is node:tls itself');
});

t.test("a 429's Retry-After reaches VaultReply past node-vault, and no other header does", async (t) => {
  let retryAfter: string | undefined = '4';
  const body = JSON.stringify({ errors: ['request path "secret/data/app": rate limit quota exceeded'] });
  const server = http.createServer((_req, res) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-ratelimit-limit': '10', 'set-cookie': `s=${CANARY_TOKEN}` };
    if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
    res.writeHead(429, headers).end(body);
  });
  const url = await listen(t, server);
  const transport = new VaultTransport({ timeoutMs: 5000, rejectUnauthorized: true });
  t.teardown(() => transport.close());
  const raw = await transport.send({ method: 'GET', uri: `${url}/v1/secret/data/app` });
  t.same(raw.headers, { 'retry-after': '4' }, 'the transport keeps Retry-After only');

  const v = vaultHttp(t, url);
  const reply = await v.call('GET', 'secret/data/app', { token: CANARY_TOKEN });
  t.same(reply, { status: 429, body: JSON.parse(body), retryAfterMs: 4000 });
  const m = httpFailure(context(url), reply.status, reply.body, reply.retryAfterMs);
  t.same([m.code, m.retryable, m.throttled, m.retryAfterMs], ['unavailable', true, true, 4000]);
  t.equal(m.message, `vault provider "vault": Vault at ${url} is rate limiting requests (HTTP 429) while reading secret/data/app; retrying later, not before its Retry-After of 4 s`);

  retryAfter = undefined;
  t.same(await v.call('GET', 'secret/data/app'), { status: 429, body: JSON.parse(body) }, 'no Retry-After, no retryAfterMs');
  retryAfter = 'in a while';
  t.same(await v.call('GET', 'secret/data/app'), { status: 429, body: JSON.parse(body) }, 'an unreadable one is dropped');
  assertNoLeak(t, [m.message], [CANARY_TOKEN]);
});
