// The sidecar's HTTP endpoint (node:http, no framework):
//   GET  /healthz  200 "ok": the process is alive and its event loop turns
//   GET  /readyz   200 when the first render is done, every file is written and
//                  no lease is past its end; else 503. A value past its `ttl`
//                  is named as stale but keeps the pod ready (docs/fleet.md);
//                  /readyz?fresh answers 503 for that too (?fresh=false: as
//                  without it; another value: 400). JSON body names
//                  stale secrets and since when: names and times only
//   GET  /metrics  Prometheus text from the agent's own registry
//   POST /quit     only with server.quit: true (a Job's sidecar stops when the
//                  job is done); answers 202, then calls onQuit. Else 404.
// Other methods on these paths: 405 with Allow. Anything else: 404.
//
//   const s = await startServer({ listen: '127.0.0.1:0', quit, health, metrics, onQuit, logger });
//   s.port; await s.close();

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Health, Readiness } from './health.ts';
import { parseListenAddress } from './listen-address.ts';
import type { AgentMetrics } from './metrics.ts';

export interface ServerOptions {
  /** server.listen */
  listen: string;
  /** server.quit */
  quit: boolean;
  health: Health;
  metrics: AgentMetrics;
  /** called once after POST /quit was answered */
  onQuit?: () => void | Promise<void>;
  logger: Logger;
}

export interface RunningServer {
  host: string;
  port: number;
  /** http://host:port, for logs and tests */
  url: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const { host, port } = parseListenAddress(opts.listen);
  let quitting = false;
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: unknown) => {
      opts.logger.error({ path: req.url, err: e instanceof Error ? e.name : 'error' }, 'health server request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const [path, query = ''] = (req.url ?? '/').split('?', 2);
    const method = req.method ?? 'GET';
    const allow = (methods: string): boolean => {
      if (methods.split(', ').includes(method)) return true;
      res.setHeader('allow', methods);
      send(res, 405, 'text/plain; charset=utf-8', `method ${method} not allowed on ${path}; use ${methods}\n`);
      return false;
    };
    switch (path) {
      case '/healthz':
        if (allow('GET, HEAD')) send(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz': {
        if (!allow('GET, HEAD')) return;
        const fresh = freshParam(new URLSearchParams(query).get('fresh'));
        if (fresh === undefined) {
          send(res, 400, 'text/plain; charset=utf-8', 'fresh takes no value, or true/1/yes/on (strict: stale is not ready) or false/0/no/off\n');
          return;
        }
        const r = opts.health.readiness({ fresh });
        send(res, r.ready ? 200 : 503, 'application/json', `${JSON.stringify(readinessBody(r))}\n`);
        return;
      }
      case '/metrics':
        if (allow('GET, HEAD')) send(res, 200, opts.metrics.contentType, await opts.metrics.text());
        return;
      case '/quit':
        if (!opts.quit) break;
        if (!allow('POST')) return;
        send(res, 202, 'text/plain; charset=utf-8', 'stopping\n');
        if (!quitting) {
          quitting = true;
          opts.logger.info('POST /quit received: stopping');
          res.once('finish', () => void Promise.resolve(opts.onQuit?.()).catch(() => {}));
        }
        return;
    }
    send(res, 404, 'text/plain; charset=utf-8', `not found; try /healthz, /readyz or /metrics\n`);
  }

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EADDRNOTAVAIL' ? 'no such local address' : (e.code ?? e.message);
      reject(new AgentError('config', `server.listen: cannot listen on ${opts.listen}: ${why}; pick another address or set server.enabled: false`, { where: 'server.listen', cause: e }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    host: addr.address,
    port: addr.port,
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/** ?fresh, ?fresh=true|1|yes|on: strict; absent, false|0|no|off: not;
 * anything else undefined (a typo must not silently pick either answer) */
export function freshParam(value: string | null): boolean | undefined {
  if (value === null) return false;
  const v = value.toLowerCase();
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  if (['', 'true', '1', 'yes', 'on'].includes(v)) return true;
  return undefined;
}

function readinessBody(r: Readiness): Record<string, unknown> {
  return {
    status: r.ready ? 'ready' : 'not ready',
    rendered: r.rendered,
    stale: r.stale.map((s) => ({
      secret: s.secret,
      staleSince: new Date(s.staleSince).toISOString(),
      lastRefresh: new Date(s.lastRefreshAt).toISOString(),
      ...(s.lastError ? { lastError: s.lastError.code, lastErrorAt: new Date(s.lastError.at).toISOString() } : {}),
      // a lease past its end is why the pod is not ready; any other stale
      // value is still valid and still served
      ...(s.expired ? { expired: true } : {}),
    })),
    // a refused value does not make the pod unready by itself: say so, or a
    // 200 hides that the application runs on a value the backend replaced
    ...(r.rejected
      ? {
          rejected: r.rejected.map((x) => ({
            secret: x.secret,
            since: new Date(x.since).toISOString(),
            error: x.code,
            serving: 'the last good value',
            ...(x.hasTtl ? {} : { note: 'no ttl on this secret: the pod stays ready until the backend holds a valid value again' }),
          })),
        }
      : {}),
    // past its maxAge: the pod stays ready, the backend needs a new version
    ...(r.overdue ? { overdue: r.overdue.map((o) => ({ secret: o.secret, ageSeconds: o.ageSeconds, maxAgeSeconds: o.maxAgeSeconds, createdAt: new Date(o.createdAt).toISOString() })) } : {}),
    // destinations are already metric labels; the error code only, never its message
    ...(r.unwritten ? { unwritten: r.unwritten.map((u) => ({ destination: u.destination, since: new Date(u.since).toISOString(), error: u.code })) } : {}),
  };
}
