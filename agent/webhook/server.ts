// The webhook's HTTPS server: POST /mutate, GET /healthz, GET /readyz, GET /metrics.
// The certificate is swapped in place (setSecureContext) when the files
// change: new handshakes get the new pair, open connections keep theirs.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { handleAdmissionReview } from './admission.ts';
import { loadCertPair, watchCertificate, type CertPair, type CertWatcher } from './cert-watcher.ts';
import { WebhookMetrics } from './metrics.ts';
import type { WebhookConfig } from './webhook-config.ts';

export interface WebhookServerOptions {
  certFile: string;
  keyFile: string;
  host: string;
  port: number;
  config: WebhookConfig;
  logger: Logger;
  /** cert watcher tuning (tests use short ones) */
  debounceMs?: number;
  pollMs?: number;
}

export interface WebhookServer {
  address(): AddressInfo;
  /** the fingerprint of the certificate new connections get */
  fingerprint(): string;
  /** re-read the certificate files now */
  reloadCertificate(): Promise<void>;
  /** /readyz answers 503 from now on; requests are still served */
  drain(): void;
  /** stop accepting, let in-flight requests finish, then close idle connections */
  close(): Promise<void>;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookServer> {
  const { logger, config } = opts;
  const first = await loadCertPair(opts.certFile, opts.keyFile);
  if (!first.ok) throw new AgentError('config', `webhook TLS: ${first.reason}; check --tls-cert ${opts.certFile} and --tls-key ${opts.keyFile}`);
  let pair: CertPair = first.pair;
  let closing = false;
  const metrics = new WebhookMetrics();
  metrics.serving(pair.notAfter);

  const server: Server = createServer({ cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }, (req, res) => {
    route(req, res).catch((e: unknown) => {
      logger.error({ err: e }, 'webhook request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  // the API server reuses connections; keep them a little longer than its idle timeout
  server.keepAliveTimeout = 65_000;

  const sockets = new Set<Socket>();
  server.on('secureConnection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('tlsClientError', (err: Error) => logger.debug({ reason: err.message }, 'TLS handshake failed'));

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // draining: the API server's kept-alive connections stay pinned to this
    // pod after it leaves the endpoints; each is retired after its next
    // answer, so none is cut under a request when the delay ends
    if (closing) res.setHeader('connection', 'close');
    const url = new URL(req.url ?? '/', 'https://webhook.invalid');
    if (url.pathname === '/healthz') {
      if (method(req, res, 'GET')) send(res, 200, 'text/plain', 'ok\n');
      return;
    }
    if (url.pathname === '/readyz') {
      if (!method(req, res, 'GET')) return;
      return closing ? send(res, 503, 'text/plain', 'shutting down\n') : send(res, 200, 'text/plain', 'ok\n');
    }
    if (url.pathname === '/metrics') {
      if (method(req, res, 'GET')) send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
      return;
    }
    if (url.pathname !== '/mutate') return send(res, 404, 'text/plain', 'not found; the webhook serves POST /mutate, GET /healthz, GET /readyz, GET /metrics\n');
    if (!method(req, res, 'POST')) return;
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) return send(res, 415, 'text/plain', 'send the AdmissionReview as application/json\n');
    const body = await readBody(req, config.limits.requestBytes);
    if (body === undefined) return send(res, 413, 'text/plain', `request body larger than ${config.limits.requestBytes} bytes\n`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return send(res, 400, 'text/plain', 'the request body is not valid JSON\n');
    }
    const outcome = handleAdmissionReview(parsed, config, logger);
    if (!outcome.ok) {
      metrics.admitted('bad-request');
      return send(res, outcome.httpStatus, 'text/plain', `${outcome.message}\n`);
    }
    metrics.admitted(outcome.decision);
    send(res, 200, 'application/json', JSON.stringify(outcome.review));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ address: server.address(), fingerprint: pair.fingerprint, notAfter: pair.notAfter }, 'webhook listening');

  const watcher: CertWatcher = watchCertificate({
    certFile: opts.certFile,
    keyFile: opts.keyFile,
    current: pair,
    ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    onChange(next) {
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
      metrics.certificateReloads.inc({ result: 'loaded' });
      metrics.serving(next.notAfter);
      logger.info({ fingerprint: next.fingerprint, previous: pair.fingerprint, notAfter: next.notAfter }, 'webhook certificate reloaded');
      pair = next;
    },
    onInvalid(reason) {
      metrics.certificateReloads.inc({ result: 'rejected' });
      logger.error({ reason, serving: pair.fingerprint }, 'new webhook certificate rejected; still serving the previous one');
    },
  });

  return {
    address: () => server.address() as AddressInfo,
    fingerprint: () => pair.fingerprint,
    reloadCertificate: () => watcher.check(),
    drain() {
      closing = true;
    },
    async close() {
      closing = true;
      watcher.close();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // connections that stay busy past the grace period are cut
      const grace = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, 10_000);
      grace.unref();
      await done;
      clearTimeout(grace);
    },
  };
}

function method(req: IncomingMessage, res: ServerResponse, want: string): boolean {
  if (req.method === want || (want === 'GET' && req.method === 'HEAD')) return true;
  res.setHeader('allow', want);
  send(res, 405, 'text/plain', `use ${want}\n`);
  return false;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
