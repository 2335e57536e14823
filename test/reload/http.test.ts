import t, { type Test } from 'tap';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpNotifier, type HttpReloadConfig } from '../../agent/reload/http.ts';
import { httpReloadSchema } from '../../agent/config/reload-schema.ts';
import { forgetSecretValues, registerSecretValue } from '../../agent/log/secret-registry.ts';
import { makeTestPki } from '../fakes/vault/certs.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const TOKEN = 'canary-Http-Reload-Token-93ad11f2';
const never = new AbortController().signal;
const change = { secrets: ['db'], files: [] };
const cfg = (raw: Record<string, unknown>): HttpReloadConfig => httpReloadSchema.parse({ type: 'http', ...raw });
const noSleep = { sleep: async () => {} };

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** a local server answering with the next status of `statuses` (last one repeats) */
async function recorder(t: Test, statuses: number[], tls?: { cert: string; key: string }): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const handler: http.RequestListener = (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const status = statuses[Math.min(requests.length - 1, statuses.length - 1)] ?? 200;
      // the body echoes the token: it must never reach the outcome
      res.writeHead(status, { 'content-type': 'text/plain' }).end(`echo ${TOKEN}`);
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, requests };
}

t.beforeEach(() => registerSecretValue(TOKEN));
t.afterEach(() => forgetSecretValues());

t.test('sends method, headers and body; expected status is success', async (t) => {
  const srv = await recorder(t, [204]);
  const n = new HttpNotifier(cfg({
    url: `${srv.url}/admin/reload-config?token=${TOKEN}`,
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{"scope":"secrets"}',
    expectStatus: [200, 204],
  }));
  const o = await n.notify(change, never);
  t.same([o.ok, o.detail], [true, `PUT ${srv.url}/admin/reload-config: status 204`]);
  t.equal(srv.requests.length, 1);
  t.same(srv.requests[0]?.method, 'PUT');
  t.equal(srv.requests[0]?.url, `/admin/reload-config?token=${TOKEN}`);
  t.equal(srv.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
  t.equal(srv.requests[0]?.body, '{"scope":"secrets"}');
  assertNoLeak(t, [o.detail, n.describe()], [TOKEN]);
});

t.test('5xx and 429 are retried, then success', async (t) => {
  const srv = await recorder(t, [503, 429, 200]);
  const delays: number[] = [];
  const n = new HttpNotifier(cfg({ url: `${srv.url}/reload`, retries: 2 }), { sleep: async (ms) => void delays.push(ms) });
  const o = await n.notify(change, never);
  t.same([o.ok, o.detail], [true, `POST ${srv.url}/reload: status 200 after 3 attempts`]);
  t.same(delays, [200, 400], 'short doubling backoff');
  t.equal(srv.requests.length, 3);
});

t.test('retries run out: failure names the last status', async (t) => {
  const srv = await recorder(t, [500]);
  const o = await new HttpNotifier(cfg({ url: `${srv.url}/reload`, retries: 1 }), noSleep).notify(change, never);
  t.same([o.ok, o.detail], [false, `POST ${srv.url}/reload: status 500, expected 200 after 2 attempts`]);
  assertNoLeak(t, o.detail, [TOKEN]);
});

t.test('an unexpected 4xx is not retried', async (t) => {
  const srv = await recorder(t, [403]);
  const o = await new HttpNotifier(cfg({ url: `${srv.url}/reload`, retries: 3 }), noSleep).notify(change, never);
  t.same([o.ok, o.detail], [false, `POST ${srv.url}/reload: status 403, expected 200`]);
  t.equal(srv.requests.length, 1);
});

t.test('connection refused is retried and reported', async (t) => {
  const srv = await recorder(t, [200]);
  const port = Number(new URL(srv.url).port);
  // a port that was just free: listen and close
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  t.not(deadPort, port);
  const o = await new HttpNotifier(cfg({ url: `http://127.0.0.1:${deadPort}/reload`, retries: 2 }), noSleep).notify(change, never);
  t.same([o.ok, o.detail], [false, `POST http://127.0.0.1:${deadPort}/reload: connection refused after 3 attempts`]);
});

t.test('timeout: a server that never answers', async (t) => {
  const server = http.createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { port } = server.address() as AddressInfo;
  const o = await new HttpNotifier(cfg({ url: `http://127.0.0.1:${port}/x`, timeout: '200ms' })).notify(change, AbortSignal.timeout(200));
  t.equal(o.ok, false);
  t.match(o.detail, /timed out or cancelled/);
});

t.test('https with caFile; without it the TLS failure is explained', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  const srv = await recorder(t, [200], { cert: pki.cert, key: pki.key });
  const good = await new HttpNotifier(cfg({ url: `${srv.url}/reload`, caFile: pki.caFile })).notify(change, never);
  t.same([good.ok, good.detail], [true, `POST ${srv.url}/reload: status 200`]);
  const wrong = await new HttpNotifier(cfg({ url: `${srv.url}/reload`, caFile: pki.otherCaFile, retries: 0 })).notify(change, never);
  t.equal(wrong.ok, false);
  t.match(wrong.detail, /TLS verification failed \(.+\); set caFile to the server's CA/);
  const missing = await new HttpNotifier(cfg({ url: `${srv.url}/reload`, caFile: '/nonexistent/ca.pem' })).notify(change, never);
  t.same([missing.ok, missing.detail], [false, `POST ${srv.url}/reload: cannot read caFile /nonexistent/ca.pem (ENOENT)`]);
});

t.test('NODE_DEBUG=http does not print the configured headers (an Authorization token)', async (t) => {
  const srv = await recorder(t, [200]);
  // NODE_DEBUG is read once at start-up: the notifier runs in a child process
  const { spawn } = await import('node:child_process');
  const script = `
    import { HttpNotifier } from ${JSON.stringify(new URL('../../agent/reload/http.ts', import.meta.url).href)};
    import { httpReloadSchema } from ${JSON.stringify(new URL('../../agent/config/reload-schema.ts', import.meta.url).href)};
    const n = new HttpNotifier(httpReloadSchema.parse({ type: 'http', url: process.argv[1], headers: { authorization: 'Bearer ' + process.argv[2] } }));
    const o = await n.notify({ secrets: ['db'], files: [] }, new AbortController().signal);
    process.stdout.write(JSON.stringify(o));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, `${srv.url}/reload`, TOKEN], {
    env: { PATH: process.env.PATH, NODE_DEBUG: 'http,https,net,tls' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  t.equal(code, 0, err.slice(-500));
  t.equal((JSON.parse(out) as { ok: boolean }).ok, true, 'the reload went through');
  t.equal(srv.requests[0]?.headers.authorization, `Bearer ${TOKEN}`, 'with its header');
  t.match(err, /HTTP \d+:/, 'NODE_DEBUG was on (http debug lines printed)');
  assertNoLeak(t, [out, err], [TOKEN]);
});
