// One HTTP exchange with Vault: the transport node-vault is given (its
// `request-promise` option) in place of axios, which would cost start-up time
// and memory for features the agent never uses. node-vault builds the URI and
// headers and reads the status; this sends JSON, reads JSON, and fails with
// Node's own error codes (ECONNREFUSED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...)
// plus ETIMEDOUT for the timeout, which errors.ts classifies. Redirects are
// returned, never followed: a standby's 307 would otherwise carry the token to
// whatever address it names.
//
// The exchange is written on a node:net / node:tls socket with HTTP/1.1
// framing of our own (http1.ts), not through node:http: a sidecar makes one
// call per secret per interval, and node:http's request object, agent, parser
// and streams were most of a check's CPU in the image's interpreter-only V8
// (bench/README.md, "CPU per check cycle"). Connections are kept alive and
// reused, one exchange at a time each, as node:http's keep-alive agent did.

import type net from 'node:net';
import type tls from 'node:tls';
import { BAD_HTTP, codedError, ResponseReader, TOO_LARGE, requestHead } from './http1.ts';
import { RequestTargets, type Target } from './request-target.ts';

export { BAD_HTTP, TOO_LARGE };

export interface VaultTransportOptions {
  /** the whole exchange, connect to last body byte */
  timeoutMs: number;
  /** PEM text of tls.caFile */
  ca?: string | undefined;
  servername?: string | undefined;
  rejectUnauthorized: boolean;
  /** PEM client certificate and key for the TLS handshake (cert auth's login) */
  clientCert?: { cert: string; key: string } | undefined;
  /** the most a body may hold (default MAX_BODY_BYTES) */
  maxBodyBytes?: number | undefined;
}

/** what node-vault hands its request-promise function (plus our `signal`) */
export interface VaultTransportRequest {
  method: string;
  uri: string;
  headers?: Record<string, string> | undefined;
  /** a JSON body (node-vault's request-promise option name) */
  json?: unknown;
  signal?: AbortSignal | undefined;
}

/** what node-vault's handleVaultResponse reads */
export interface VaultTransportResponse {
  statusCode: number;
  /** parsed JSON; undefined for an empty body; a NonJsonBody for anything else */
  body: unknown;
  request: { path: string };
  /** the one response header the agent reads: a 429's or 503's Retry-After, raw */
  headers: { 'retry-after'?: string };
}

/** the code of NonJsonBody.asError(), for errors.ts */
export const NOT_JSON = 'ERR_VAULT_NOT_JSON';

/** Vault's own default max_request_size (32 MiB): no answer of a real Vault
 * is larger, and a body read without a bound lets a wrong address (a file
 * server, an endless stream) fill the agent's memory */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** what Go's net/http answers (400, text/plain) when plain HTTP reaches its TLS listener */
const HTTP_TO_HTTPS = 'Client sent an HTTP request to an HTTPS server';

/** A body that is not JSON (a proxy's HTML error page, a web UI): its type
 * and size only, never its text, which could echo what was sent. */
export class NonJsonBody {
  readonly contentType: string;
  readonly bytes: number;
  /** the body is Go's answer to plain HTTP on a TLS port: the address should say https:// */
  readonly httpToHttps: boolean;
  constructor(contentType: string, bytes: number, httpToHttps = false) {
    this.contentType = contentType;
    this.bytes = bytes;
    this.httpToHttps = httpToHttps;
  }

  /** Vault answers every request, errors included, with JSON: any other body means address is not Vault's API */
  asError(status: number): Error {
    return Object.assign(codedError(NOT_JSON, `HTTP ${status} with a body that is not JSON (${this.contentType}, ${this.bytes} bytes)`), {
      status,
      contentType: this.contentType,
      bytes: this.bytes,
      httpToHttps: this.httpToHttps,
    });
  }
}

export function isNonJsonBody(v: unknown): v is NonJsonBody {
  return v instanceof NonJsonBody;
}

export function parseBody(raw: Buffer, contentType: string | undefined): unknown {
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    // a header of the server's choosing: kept short in messages
    const type = (contentType || 'no content type').slice(0, 100);
    return new NonJsonBody(type, raw.length, raw.subarray(0, HTTP_TO_HTTPS.length).toString('latin1') === HTTP_TO_HTTPS);
  }
}

/** the socket errors that, on a kept-alive connection before any answer,
 * mean Vault closed it while idle (Node's documented retry case) */
const STALE_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** the methods sent again after a stale kept-alive socket: reads, which Vault
 * may see twice without harm; a POST or PUT (a PKI issue, a login, a write)
 * it acted on before the answer was lost must never be sent twice */
const RETRIED_METHODS = new Set(['GET', 'LIST']);

/** a request that is not retried takes a kept connection only if it was idle
 * for less than this: Vault (Go's IdleTimeout) and proxies close idle
 * connections after seconds, not within one */
const FRESH_IDLE_MS = 1000;

/** idle connections kept per origin: the agent's calls to one Vault are a
 * handful at a time; a burst beyond that closes its extra connections */
const MAX_IDLE_PER_ORIGIN = 4;

/** the code of an exchange ended by close(): never retried */
export const TRANSPORT_CLOSED = 'ERR_VAULT_TRANSPORT_CLOSED';

/** what a connection tells the exchange it carries */
interface ExchangeEvents {
  data(chunk: Buffer): void;
  end(): void;
  error(e: Error & { code?: string }): void;
  /** the transport closed: end the exchange with this error, not as a stale socket */
  abort(e: Error): void;
}

/** one connection to Vault, carrying one exchange at a time; its listeners
 * are set once and pass events to the exchange it carries, if any */
class Connection {
  readonly socket: net.Socket;
  readonly origin: string;
  /** it carried an exchange before: a failure before any answer may be Vault's idle close */
  reused = false;
  /** when it went back to the idle list (performance.now()) */
  idleSince = 0;
  exchange: ExchangeEvents | undefined;

  constructor(socket: net.Socket, origin: string, onClose: (c: Connection) => void) {
    this.socket = socket;
    this.origin = origin;
    socket.on('data', (chunk: Buffer) => {
      // bytes nobody asked for on an idle connection: it is not usable any more
      if (this.exchange) this.exchange.data(chunk);
      else socket.destroy();
    });
    socket.on('end', () => {
      if (this.exchange) this.exchange.end();
      else socket.destroy();
    });
    socket.on('error', (e: Error) => this.exchange?.error(e));
    socket.on('close', () => {
      this.exchange?.end();
      onClose(this);
    });
  }
}

export class VaultTransport {
  readonly #opts: VaultTransportOptions;
  /** idle connections by origin, the most recently used last */
  readonly #idle = new Map<string, Connection[]>();
  readonly #all = new Set<Connection>();
  readonly #targets = new RequestTargets();
  #closed = false;
  readonly #forget = (c: Connection): void => {
    this.#all.delete(c);
    const idle = this.#idle.get(c.origin);
    const i = idle ? idle.indexOf(c) : -1;
    if (i !== -1) idle!.splice(i, 1);
  };

  constructor(opts: VaultTransportOptions) {
    this.#opts = opts;
  }

  /** node-vault's request function: one exchange, retried once, on a new
   * connection, only when a kept-alive one turns out to have been closed by
   * Vault before it answered anything (Node's documented pattern for reused
   * sockets) and only for a read (RETRIED_METHODS); the retry shares the
   * first attempt's timeout, so a call never takes longer than timeoutMs */
  readonly send = async (req: VaultTransportRequest): Promise<VaultTransportResponse> => {
    const deadline = performance.now() + this.#opts.timeoutMs;
    const retried = RETRIED_METHODS.has(req.method);
    try {
      return await this.#once(req, false, retried, deadline);
    } catch (e) {
      if (retried && (e as { staleSocket?: boolean }).staleSocket && !req.signal?.aborted && !this.#closed) return this.#once(req, true, true, deadline);
      throw e;
    }
  };

  /** an idle connection to url's origin, or a new one; a request that is
   * not retried (`retried` false) reuses only one idle for under FRESH_IDLE_MS */
  #connection(url: Target, fresh: boolean, retried: boolean): Connection {
    if (this.#closed) throw codedError(TRANSPORT_CLOSED, 'the Vault connection was closed (the agent is stopping) before this request was sent');
    const origin = `${url.protocol}//${url.host}`;
    const idle = fresh ? undefined : this.#idle.get(origin);
    while (idle && idle.length > 0) {
      // the most recently used is last: if it is too old for this request, all are
      if (!retried && performance.now() - idle.at(-1)!.idleSince >= FRESH_IDLE_MS) break;
      const c = idle.pop()!;
      if (c.socket.destroyed || !c.socket.writable) continue;
      c.socket.ref();
      c.reused = true;
      return c;
    }
    const c = new Connection(this.#connect(url), origin, this.#forget);
    this.#all.add(c);
    return c;
  }

  #connect(url: Target): net.Socket {
    // [::1] in a URL, ::1 to connect to
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const net = process.getBuiltinModule('node:net');
    if (url.protocol === 'http:') return net.connect({ host, port: Number(url.port || 80), noDelay: true, keepAlive: true, keepAliveInitialDelay: 1000 });
    if (url.protocol !== 'https:') throw codedError('ERR_INVALID_PROTOCOL', `Vault address must be http or https, not ${url.protocol}`);
    // loaded on first use, not imported: node:tls brings its crypto set-up,
    // which a plain-http or file-only run never needs
    const tls = process.getBuiltinModule('node:tls');
    const o = this.#opts;
    const options: tls.ConnectionOptions = {
      host,
      port: Number(url.port || 443),
      rejectUnauthorized: o.rejectUnauthorized,
      // SNI carries a name, never an address (as node:https decides); the
      // certificate is checked against servername, else against host
      ...(o.servername !== undefined ? { servername: o.servername } : net.isIP(host) === 0 ? { servername: host } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.clientCert !== undefined ? { cert: o.clientCert.cert, key: o.clientCert.key } : {}),
    };
    const socket = tls.connect(options);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    return socket;
  }

  /** back to the idle list, not keeping the process alive while it waits */
  #release(c: Connection): void {
    c.socket.unref();
    c.idleSince = performance.now();
    const idle = this.#idle.get(c.origin);
    if (!idle) return void this.#idle.set(c.origin, [c]);
    idle.push(c);
    // the least recently used go first; their close listener forgets them
    while (idle.length > MAX_IDLE_PER_ORIGIN) idle.shift()!.socket.destroy();
  }

  #once(req: VaultTransportRequest, fresh: boolean, retried: boolean, deadline: number): Promise<VaultTransportResponse> {
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const url = this.#targets.of(req.uri);
    const payload = req.json !== null && typeof req.json === 'object' ? Buffer.from(JSON.stringify(req.json)) : undefined;
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    // node-vault's update() sets its own (merge-patch) type
    if (payload && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    // a GET has no body; a PUT or POST without one says so, as node:http did
    const bodyBytes = payload ? payload.length : req.method === 'GET' ? undefined : 0;
    // throws for a header value or path that would break the framing, before any connection
    const head = requestHead(req.method, url.path, url.host, headers, bodyBytes);
    const c = this.#connection(url, fresh, retried);
    const limit = this.#opts.maxBodyBytes ?? MAX_BODY_BYTES;

    return new Promise((resolve, reject) => {
      const reader = new ResponseReader(limit);
      let received = false;
      const finish = (e: Error | undefined): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        c.exchange = undefined;
        // on any failure the socket closes, so Vault sees it go and nothing more is buffered
        if (e) {
          c.socket.destroy();
          return reject(e);
        }
        if (reader.reusable) this.#release(c);
        else c.socket.destroy();
        const h = reader.head!;
        resolve({
          statusCode: h.status,
          body: parseBody(reader.body(), h.contentType),
          request: { path: url.pathname },
          headers: h.retryAfter === undefined ? {} : { 'retry-after': h.retryAfter },
        });
      };
      const onAbort = (): void => finish(signal!.reason as Error);
      const timer = setTimeout(
        () => finish(codedError('ETIMEDOUT', `no answer from Vault within ${this.#opts.timeoutMs} ms`)),
        Math.max(0, deadline - performance.now()),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      const stale = (): boolean => c.reused && !received;
      c.exchange = {
        data: (chunk) => {
          received = true;
          let complete: boolean;
          try {
            complete = reader.push(chunk);
          } catch (e) {
            return finish(e as Error);
          }
          if (complete) finish(undefined);
        },
        end: () => {
          if (reader.end()) return finish(undefined);
          // closed before the answer was whole: as node:http says it
          finish(Object.assign(codedError('ECONNRESET', 'socket hang up'), stale() ? { staleSocket: true } : {}));
        },
        error: (e) => finish(stale() && e.code !== undefined && STALE_CODES.has(e.code) ? Object.assign(e, { staleSocket: true }) : e),
        abort: (e) => finish(e),
      };
      if (payload) c.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
      else c.socket.write(head, 'latin1');
    });
  }

  /** closes every connection; an exchange in flight fails with
   * TRANSPORT_CLOSED (never retried) and no request is sent after */
  close(): void {
    this.#closed = true;
    for (const c of this.#all) {
      c.exchange?.abort(codedError(TRANSPORT_CLOSED, 'the Vault connection was closed (the agent is stopping) before Vault answered'));
      c.socket.destroy();
    }
    this.#all.clear();
    this.#idle.clear();
  }
}
