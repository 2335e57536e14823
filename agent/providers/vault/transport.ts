// One HTTP exchange with Vault over node:http / node:https: the transport
// node-vault is given (its `request-promise` option) in place of axios, which
// would cost start-up time and memory for features the agent never uses.
// node-vault builds the URI and headers and reads the status; this sends
// JSON, reads JSON, and fails with Node's own error codes (ECONNREFUSED,
// UNABLE_TO_VERIFY_LEAF_SIGNATURE, ...) plus ETIMEDOUT for the timeout, which
// errors.ts classifies. Redirects are returned, never followed: a standby's
// 307 would otherwise carry the token to whatever address it names.

import http from 'node:http';
import type https from 'node:https';

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
/** the code of the error for a body over the bound, for errors.ts */
export const TOO_LARGE = 'ERR_VAULT_BODY_TOO_LARGE';

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

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

export class VaultTransport {
  readonly #opts: VaultTransportOptions;
  #httpAgent: http.Agent | undefined;
  #httpsAgent: https.Agent | undefined;

  constructor(opts: VaultTransportOptions) {
    this.#opts = opts;
  }

  /** node-vault's request function: one exchange, retried once only when a
   * kept-alive socket turns out to have been closed by Vault before it read
   * anything (Node's documented pattern for reused sockets) */
  readonly send = async (req: VaultTransportRequest): Promise<VaultTransportResponse> => {
    try {
      return await this.#once(req);
    } catch (e) {
      if ((e as { staleSocket?: boolean }).staleSocket && !req.signal?.aborted) return this.#once(req);
      throw e;
    }
  };

  #requestFn(url: URL): { request: typeof http.request; agent: http.Agent } {
    if (url.protocol === 'http:') {
      this.#httpAgent ??= new http.Agent({ keepAlive: true });
      return { request: http.request, agent: this.#httpAgent };
    }
    if (url.protocol !== 'https:') throw codedError('ERR_INVALID_PROTOCOL', `Vault address must be http or https, not ${url.protocol}`);
    // loaded on first use, not imported: node:https brings node:tls and its
    // crypto set-up, which a plain-http or file-only run never needs
    const h = process.getBuiltinModule('node:https');
    this.#httpsAgent ??= new h.Agent({
      keepAlive: true,
      rejectUnauthorized: this.#opts.rejectUnauthorized,
      ...(this.#opts.ca !== undefined ? { ca: this.#opts.ca } : {}),
      ...(this.#opts.servername !== undefined ? { servername: this.#opts.servername } : {}),
      ...(this.#opts.clientCert !== undefined ? { cert: this.#opts.clientCert.cert, key: this.#opts.clientCert.key } : {}),
    });
    return { request: h.request, agent: this.#httpsAgent };
  }

  #once(req: VaultTransportRequest): Promise<VaultTransportResponse> {
    const { signal } = req;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const url = new URL(req.uri);
    const { request, agent } = this.#requestFn(url);
    const payload = req.json !== null && typeof req.json === 'object' ? Buffer.from(JSON.stringify(req.json)) : undefined;
    const headers: Record<string, string | number> = { accept: 'application/json', ...req.headers };
    if (payload) {
      // node-vault's update() sets its own (merge-patch) type
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
      headers['content-length'] = payload.length;
    }

    return new Promise((resolve, reject) => {
      let answered = false;
      // headers go on the request, not into its options: NODE_DEBUG=http
      // prints a new connection's options, X-Vault-Token included
      const r = request(url, { method: req.method, agent });
      try {
        for (const [name, value] of Object.entries(headers)) r.setHeader(name, value);
      } catch (e) {
        // a header value Node refuses (a token file with a line break inside):
        // give the socket back, fail as http.request itself would have
        r.on('error', () => {});
        r.destroy();
        throw e;
      }
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      // destroy, not just stop waiting: the socket closes, Vault sees it go
      const onAbort = (): void => {
        r.destroy();
        finish(() => reject(signal!.reason));
      };
      const timer = setTimeout(() => {
        const e = codedError('ETIMEDOUT', `no answer from Vault within ${this.#opts.timeoutMs} ms`);
        r.destroy();
        finish(() => reject(e));
      }, this.#opts.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });

      r.on('error', (e: Error & { code?: string }) => {
        const stale = r.reusedSocket && !answered && e.code === 'ECONNRESET';
        finish(() => reject(stale ? Object.assign(e, { staleSocket: true }) : e));
      });
      r.on('response', (res) => {
        answered = true;
        const limit = this.#opts.maxBodyBytes ?? MAX_BODY_BYTES;
        // stop reading at once: the socket closes, nothing more is buffered
        const tooLarge = (): void => {
          r.destroy();
          finish(() => reject(Object.assign(codedError(TOO_LARGE, `Vault's answer is larger than ${limit} bytes`), { limit })));
        };
        if (Number(res.headers['content-length']) > limit) return tooLarge();
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > limit) tooLarge();
          else chunks.push(c);
        });
        res.on('error', (e) => finish(() => reject(e)));
        res.on('end', () => {
          const body = parseBody(Buffer.concat(chunks), res.headers['content-type']);
          const retryAfter = res.headers['retry-after'];
          const headers = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
          finish(() => resolve({ statusCode: res.statusCode ?? 0, body, request: { path: url.pathname }, headers }));
        });
      });
      r.end(payload);
    });
  }

  close(): void {
    this.#httpAgent?.destroy();
    this.#httpsAgent?.destroy();
  }
}
