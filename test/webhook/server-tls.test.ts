// The webhook over real HTTPS on 127.0.0.1, with certificates made by
// examples/kubernetes/gen-certs.sh (openssl), laid out the way the kubelet
// mounts a Secret (tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>), and
// rotated while serving: new connections get the new certificate, an open
// keep-alive connection and an in-flight request are not dropped, and an
// invalid new pair is refused while the old one keeps serving.

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { request, Agent } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runWebhook } from '../../agent/webhook/cli.ts';
import type { WebhookServer } from '../../agent/webhook/server.ts';
import { createLogger } from '../../agent/log/logger.ts';
import { loadReview } from '../helpers/webhook-admit.ts';

const GEN = path.join(import.meta.dirname, '..', '..', 'examples', 'kubernetes', 'gen-certs.sh');

interface Issued {
  dir: string;
  ca: string;
  cert: string;
  key: string;
  fingerprint: string;
}

function issue(dir: string, keepCa = false): Issued {
  execFileSync('bash', [GEN], { env: { ...process.env, OUT_DIR: dir, EXTRA_SANS: 'IP:127.0.0.1,DNS:localhost', KEEP_CA: keepCa ? '1' : '0', DAYS: '2' }, stdio: ['ignore', 'ignore', 'pipe'] });
  const cert = readFileSync(path.join(dir, 'tls.crt'), 'utf8');
  return { dir, ca: readFileSync(path.join(dir, 'ca.crt'), 'utf8'), cert, key: readFileSync(path.join(dir, 'tls.key'), 'utf8'), fingerprint: new X509Certificate(cert).fingerprint256 };
}

/** the kubelet's atomic writer: a new timestamped dir, then ..data swapped by rename */
function publish(mount: string, version: string, cert: string, key: string): void {
  const data = path.join(mount, `..${version}`);
  mkdirSync(data);
  writeFileSync(path.join(data, 'tls.crt'), cert);
  writeFileSync(path.join(data, 'tls.key'), key);
  const tmp = path.join(mount, '..data_tmp');
  symlinkSync(`..${version}`, tmp);
  renameSync(tmp, path.join(mount, '..data'));
}

interface Reply {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
  fingerprint: string;
  reused: boolean;
  socket: TLSSocket;
}

function call(port: number, opts: { ca: string; agent?: Agent; method?: string; path?: string; body?: string; contentType?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method: opts.method ?? 'POST',
        path: opts.path ?? '/mutate',
        ca: opts.ca,
        agent: opts.agent ?? false,
        headers: opts.body !== undefined ? { 'content-type': opts.contentType ?? 'application/json', 'content-length': Buffer.byteLength(opts.body) } : {},
      },
      (res: IncomingMessage) => {
        // read the socket now: a keep-alive agent takes it back at 'end'
        const socket = res.socket as TLSSocket;
        const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, fingerprint, reused: req.reusedSocket, socket }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  for (let i = 0; i < timeoutMs / 20; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`gave up waiting: ${what}`);
}

t.test('HTTPS webhook: mutate, health, rotation without dropping connections', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-tls-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const first = issue(path.join(root, 'issuer-1'));
  const second = issue(path.join(root, 'issuer-2'));
  const mount = path.join(root, 'mount');
  mkdirSync(mount);
  publish(mount, '2026_11_29_01', first.cert, first.key);
  symlinkSync('..data/tls.crt', path.join(mount, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(mount, 'tls.key'));

  const logLines: string[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (l: string) => logLines.push(l) } });
  const stop = new AbortController();
  let server: WebhookServer | undefined;
  const stderr: string[] = [];
  const exited = runWebhook(
    ['--tls-cert', path.join(mount, 'tls.crt'), '--tls-key', path.join(mount, 'tls.key'), '--listen', '127.0.0.1:0', '--vault-address', 'https://vault.vault.svc:8200', '--vault-role', 'erlmcp'],
    { signal: stop.signal, logger, stderr: { write: (s: string) => stderr.push(s) }, onListening: (s) => (server = s), debounceMs: 30, pollMs: 60_000, shutdownDelayMs: 0 },
  );
  t.teardown(() => stop.abort());
  await until('listening', () => server !== undefined);
  const port = server!.address().port;
  t.equal(server!.address().address, '127.0.0.1');

  const review = readFileSync(path.join(import.meta.dirname, 'fixtures', 'native-sidecar.json'), 'utf8');
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());

  const r1 = await call(port, { ca: first.ca, agent: keepAlive, body: review });
  t.equal(r1.status, 200);
  const out = JSON.parse(r1.body) as { response: { uid: string; allowed: boolean; patchType: string; patch: string } };
  t.equal(out.response.uid, loadReview('native-sidecar.json').request.uid, 'uid echoed over HTTP');
  t.equal(out.response.allowed, true);
  t.equal(out.response.patchType, 'JSONPatch');
  t.ok(Array.isArray(JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8'))), 'patch is base64 JSON');
  t.equal(r1.fingerprint, first.fingerprint, 'serves the first certificate');
  t.equal((await call(port, { ca: first.ca, method: 'GET', path: '/healthz' })).status, 200);
  t.equal((await call(port, { ca: first.ca, method: 'GET', path: '/readyz' })).status, 200);

  // an in-flight request: headers and half the body sent before the rotation
  let finishInflight: () => void = () => undefined;
  const inflight = new Promise<Reply>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: 'localhost', method: 'POST', path: '/mutate', ca: first.ca, agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(review) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, fingerprint: (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 ?? '', reused: false, socket: res.socket as TLSSocket }));
    });
    req.on('error', reject);
    const half = Math.floor(review.length / 2);
    req.write(review.slice(0, half));
    finishInflight = () => req.end(review.slice(half));
  });
  await new Promise((r) => setTimeout(r, 50));

  // rotation: cert-manager reissued from a new CA; the kubelet swaps ..data
  publish(mount, '2026_11_29_02', second.cert, second.key);
  await until('certificate reloaded', () => server!.fingerprint() === second.fingerprint);
  t.ok(logLines.some((l) => l.includes('webhook certificate reloaded') && l.includes(second.fingerprint)), 'the reload is logged with the new fingerprint');

  finishInflight();
  const r2 = await inflight;
  t.equal(r2.status, 200, 'the in-flight request completes after the rotation');
  t.equal(r2.fingerprint, first.fingerprint, '...on its original TLS session');

  const r3 = await call(port, { ca: first.ca, agent: keepAlive, body: review });
  t.equal(r3.status, 200, 'the keep-alive connection still works');
  t.ok(r3.reused, '...and it is the same connection, not a new one');
  t.equal(r3.socket, r1.socket, '...the very same socket (which carries the first certificate)');

  const r4 = await call(port, { ca: second.ca, body: review });
  t.equal(r4.status, 200, 'a client that pins the new CA connects');
  t.equal(r4.fingerprint, second.fingerprint, '...and sees the new certificate');
  await t.rejects(call(port, { ca: first.ca, body: review }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, 'a new connection pinned to the old CA is refused');

  // an invalid pair (new certificate, key from another pair): refused, old one kept
  const third = issue(path.join(root, 'issuer-2'), true);
  publish(mount, '2026_11_29_03', third.cert, first.key);
  await until('invalid pair reported', () => logLines.some((l) => l.includes('new webhook certificate rejected')));
  const rejected = logLines.find((l) => l.includes('new webhook certificate rejected'))!;
  t.match(rejected, /the key does not belong to the certificate/);
  t.match(JSON.parse(rejected), { level: 'error', serving: second.fingerprint });
  t.equal(server!.fingerprint(), second.fingerprint, 'still serving the previous certificate');
  t.equal((await call(port, { ca: second.ca, body: review })).fingerprint, second.fingerprint);

  // garbage in the cert file is refused the same way
  publish(mount, '2026_11_29_04', 'not a certificate\n', third.key);
  await until('garbage reported', () => logLines.some((l) => l.includes('holds no valid PEM certificate')));
  t.equal(server!.fingerprint(), second.fingerprint);

  // the fixed pair arrives: accepted
  publish(mount, '2026_11_29_05', third.cert, third.key);
  await until('third certificate', () => server!.fingerprint() === third.fingerprint);
  t.equal((await call(port, { ca: second.ca, body: review })).fingerprint, third.fingerprint, 'same CA, reissued certificate');

  // HTTP-level errors
  t.equal((await call(port, { ca: second.ca, method: 'GET', path: '/mutate' })).status, 405);
  t.equal((await call(port, { ca: second.ca, method: 'GET', path: '/nope' })).status, 404);
  t.equal((await call(port, { ca: second.ca, body: review, contentType: 'text/plain' })).status, 415);
  const bad = await call(port, { ca: second.ca, body: '{"kind": ' });
  t.same([bad.status, bad.body], [400, 'the request body is not valid JSON\n']);
  const v1beta1 = await call(port, { ca: second.ca, body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }) });
  t.equal(v1beta1.status, 400);
  t.match(v1beta1.body, /list only v1 in admissionReviewVersions/);
  const huge = await call(port, { ca: second.ca, body: JSON.stringify({ pad: 'x'.repeat(4 * 1024 * 1024 + 10) }) }).catch((e: NodeJS.ErrnoException) => ({ status: -1, body: e.code ?? '' }));
  t.ok(huge.status === 413 || huge.status === -1, `oversized body refused (${huge.status})`);

  const metrics = await call(port, { ca: second.ca, method: 'GET', path: '/metrics' });
  t.equal(metrics.status, 200);
  t.match(metrics.body, /^erlmcp_secrets_webhook_admissions_total\{decision="injected"\} 6$/m, 'six pods injected over HTTP');
  t.match(metrics.body, /^erlmcp_secrets_webhook_admissions_total\{decision="bad-request"\} 1$/m);
  t.match(metrics.body, /^erlmcp_secrets_webhook_certificate_reloads_total\{result="loaded"\} 2$/m);
  t.match(metrics.body, /^erlmcp_secrets_webhook_certificate_reloads_total\{result="rejected"\} 2$/m);
  const notAfter = Math.floor(Date.parse(new X509Certificate(third.cert).validTo) / 1000);
  t.match(metrics.body, new RegExp(`^erlmcp_secrets_webhook_certificate_not_after_seconds ${notAfter}$`, 'm'), 'expiry of the certificate in use');

  const log = logLines.join('');
  t.notMatch(log, 'DB_PASSWORD', 'no template text in the log');
  t.notMatch(log, 'ERLMCP_SECRETS_CONFIG', 'no injected config in the log');
  t.ok(logLines.some((l) => l.includes('injecting erlmcp-secrets') && l.includes('"mode":"native-sidecar"')), 'each injection is logged');

  keepAlive.destroy();
  stop.abort();
  t.equal(await exited, 0, 'stops cleanly on abort (SIGTERM path)');
  t.same(stderr, [], 'nothing on stderr besides the logger');
});

t.test('a plain file rewritten in place is reloaded too', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-plain-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = issue(path.join(root, 'a'));
  const b = issue(path.join(root, 'b'));
  const certFile = path.join(root, 'tls.crt');
  const keyFile = path.join(root, 'tls.key');
  copyFileSync(path.join(a.dir, 'tls.crt'), certFile);
  copyFileSync(path.join(a.dir, 'tls.key'), keyFile);
  const stop = new AbortController();
  let server: WebhookServer | undefined;
  const exited = runWebhook(['--tls-cert', certFile, '--tls-key', keyFile, '--listen', '127.0.0.1:0', '--log-level', 'silent'], { signal: stop.signal, onListening: (s) => (server = s), debounceMs: 30, shutdownDelayMs: 0 });
  t.teardown(() => stop.abort());
  await until('listening', () => server !== undefined);
  const port = server!.address().port;
  t.equal((await call(port, { ca: a.ca, method: 'GET', path: '/healthz' })).fingerprint, a.fingerprint);
  writeFileSync(keyFile, b.key);
  writeFileSync(certFile, b.cert);
  await until('reloaded', () => server!.fingerprint() === b.fingerprint);
  t.equal((await call(port, { ca: b.ca, method: 'GET', path: '/healthz' })).fingerprint, b.fingerprint);
  stop.abort();
  t.equal(await exited, 0);
});

t.test('CLI start-up errors exit 2 with a message', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-cli-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = issue(path.join(root, 'a'));
  const run = async (argv: string[]): Promise<[number, string]> => {
    const err: string[] = [];
    const code = await runWebhook(argv, { stderr: { write: (s: string) => err.push(s) }, env: { ERLMCP_SECRETS_LOG_FORMAT: 'text' } });
    return [code, err.join('')];
  };
  const cert = path.join(a.dir, 'tls.crt');
  const key = path.join(a.dir, 'tls.key');

  let [code, err] = await run(['--tls-key', key]);
  t.equal(code, 2);
  t.match(err, /^webhook: --tls-cert and --tls-key are required/);
  [code, err] = await run(['--tls-cert', cert, '--tls-key', key, '--bogus']);
  t.equal(code, 2);
  t.match(err, /^webhook: Unknown option '--bogus'/);
  [code, err] = await run(['--tls-cert', cert, '--tls-key', path.join(root, 'missing.key'), '--listen', '127.0.0.1:0']);
  t.equal(code, 2);
  t.match(err, /webhook: webhook TLS: cannot read .*missing\.key \(ENOENT\); check --tls-cert/);
  [code, err] = await run(['--tls-cert', key, '--tls-key', cert, '--listen', '127.0.0.1:0']);
  t.equal(code, 2);
  t.match(err, /holds no valid PEM certificate/);
  [code, err] = await run(['--tls-cert', cert, '--tls-key', key, '--listen', 'localhost']);
  t.equal(code, 2);
  t.match(err, /webhook: listen address "localhost" is not host:port/);
  const cfgFile = path.join(root, 'webhook.yaml');
  writeFileSync(cfgFile, 'agent:\n  image: ""\n  resources: { requests: { cpu: lots }, limits: { memory: "-1Mi" } }\nmode: daemon\nvolume: { mountPath: /proc/x }\n');
  [code, err] = await run(['--tls-cert', cert, '--tls-key', key, '--config', cfgFile]);
  t.equal(code, 2);
  t.match(err, /webhook\.yaml: agent\.image: /);
  t.match(err, /webhook\.yaml: agent\.resources\.requests\.cpu: must be a Kubernetes quantity like "10m", "48Mi" or "1", got "lots"/);
  t.match(err, /webhook\.yaml: agent\.resources\.limits\.memory: must be more than 0, got "-1Mi"/, 'the webhook config gets the same bounds as the annotations');
  t.match(err, /webhook\.yaml: volume\.mountPath: \/proc\/x is under \/proc/);
  t.match(err, /webhook\.yaml: mode: /);
  [code, err] = await run(['--tls-cert', cert, '--tls-key', key, '--config', path.join(root, 'nope.yaml')]);
  t.equal(code, 2);
  t.match(err, /nope\.yaml: cannot read the webhook config \(ENOENT\); check --config/);
});

t.test('the real program: erlmcp-secrets webhook in its own process, stopped by SIGTERM', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-proc-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = issue(path.join(root, 'a'));
  const node = path.join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'node');
  const entry = path.join(import.meta.dirname, '..', '..', 'agent', 'cli', 'entry.ts');
  const child = spawn(node, [entry, 'webhook', '--tls-cert', path.join(a.dir, 'tls.crt'), '--tls-key', path.join(a.dir, 'tls.key'), '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await until('listening line', () => stderr.includes('webhook listening'));
  const line = JSON.parse(stderr.split('\n').find((l) => l.includes('webhook listening'))!) as { address: { port: number }; fingerprint: string };
  t.equal(line.fingerprint, a.fingerprint, 'logs the fingerprint it serves');
  const health = await call(line.address.port, { ca: a.ca, method: 'GET', path: '/healthz' });
  t.same([health.status, health.body], [200, 'ok\n']);
  const review = readFileSync(path.join(import.meta.dirname, 'fixtures', 'exec.json'), 'utf8');
  const r = await call(line.address.port, { ca: a.ca, body: review });
  t.equal((JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed, true);
  child.kill('SIGTERM');
  t.equal(await exit, 0, 'exit code 0 after SIGTERM');
  t.match(stderr, /webhook stopping: draining connections/);
});

t.test('SIGTERM: not ready but still serving for --shutdown-delay, then gone; a second SIGTERM ends the delay', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'erlmcp-webhook-delay-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const a = issue(path.join(root, 'a'));
  const node = path.join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'node');
  const entry = path.join(import.meta.dirname, '..', '..', 'agent', 'cli', 'entry.ts');
  const review = readFileSync(path.join(import.meta.dirname, 'fixtures', 'exec.json'), 'utf8');
  const start = async (delay: string) => {
    const child = spawn(node, [entry, 'webhook', '--tls-cert', path.join(a.dir, 'tls.crt'), '--tls-key', path.join(a.dir, 'tls.key'), '--listen', '127.0.0.1:0', '--shutdown-delay', delay], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // a process started from the TypeScript source, on a loaded machine
    await until('listening line', () => stderr.includes('webhook listening'), 30_000);
    const port = (JSON.parse(stderr.split('\n').find((l) => l.includes('webhook listening'))!) as { address: { port: number } }).address.port;
    return { child, exit, port, stderr: () => stderr };
  };

  const w = await start('4');
  // a kept-alive connection opened before SIGTERM, as the API server holds one
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => keepAlive.destroy());
  const before = await call(w.port, { ca: a.ca, method: 'GET', path: '/readyz', agent: keepAlive });
  t.equal(before.status, 200, 'ready before');
  t.not(before.headers.connection, 'close', 'connections are kept alive while serving');
  const termAt = Date.now();
  w.child.kill('SIGTERM');
  await until('the delay line', () => w.stderr().includes('webhook stopping: not ready'), 3_000);
  t.equal((await call(w.port, { ca: a.ca, method: 'GET', path: '/readyz' })).status, 503, 'not ready during the delay: the endpoints drop the pod');
  const r = await call(w.port, { ca: a.ca, body: review, agent: keepAlive });
  t.equal((JSON.parse(r.body) as { response: { allowed: boolean } }).response.allowed, true, 'an AdmissionReview that still arrives is answered, not refused');
  t.ok(r.reused, 'it came on the connection opened before SIGTERM');
  t.equal(r.headers.connection, 'close', 'and retires that connection: none is left to be cut when the delay ends');
  await until('the kept connection to close', () => r.socket.destroyed || r.socket.readyState === 'closed', 3_000);
  t.equal(await w.exit, 0, 'exit 0 after the delay');
  t.ok(Date.now() - termAt >= 3_500, `exited after the delay (${Date.now() - termAt} ms), not at once`);
  t.match(w.stderr(), /"delaySeconds":4/);

  const v = await start('100');
  v.child.kill('SIGTERM');
  await until('the delay line', () => v.stderr().includes('webhook stopping: not ready'), 30_000);
  v.child.kill('SIGTERM');
  t.equal(await v.exit, 0, 'a second SIGTERM stops at once, exit 0, not 100 s later');

  const bad = await runWebhook(['--tls-cert', path.join(a.dir, 'tls.crt'), '--tls-key', path.join(a.dir, 'tls.key'), '--shutdown-delay', 'soon'], { stderr: { write: () => true }, logger: createLogger({ level: 'silent', destination: { write: () => true } }) });
  t.equal(bad, 2, '--shutdown-delay soon: a usage error');
});
