// The one place that talks HTTP to Vault, through node-vault's raw request
// over our own transport (transport.ts), or, for reads, on the transport
// directly. Every answer comes back as
// { status, body } (node-vault rejects non-2xx with the status and body
// attached; KV v2 soft deletes need that 404 body); transport failures are
// thrown as they come, for errors.ts to classify.

import nodeVault from 'node-vault';
import { parseRetryAfter } from '../retry-after.ts';
import { VaultTransport, type VaultTransportResponse, isNonJsonBody } from './transport.ts';

export interface VaultHttpOptions {
  address: string;
  namespace: string | undefined;
  /** PEM text of tls.caFile */
  ca: string | undefined;
  serverName: string | undefined;
  insecureSkipVerify: boolean;
  timeoutMs: number;
  /** PEM client certificate and key presented in the TLS handshake (cert auth's login) */
  clientCert?: { cert: string; key: string } | undefined;
  /** the largest body read (transport.ts MAX_BODY_BYTES unless set; tests set less) */
  maxBodyBytes?: number | undefined;
}

export interface VaultReply {
  status: number;
  /** parsed JSON, or undefined for 204 / empty bodies */
  body: unknown;
  /** a non-2xx answer's Retry-After (rate limit quotas send one on 429), read on arrival */
  retryAfterMs?: number;
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

interface ApiResponseErrorShape {
  response?: { statusCode?: unknown; body?: unknown };
  retryAfterMs?: unknown;
}

/** the API path, each segment URL-encoded, with an optional query string kept as is */
function encodePath(path: string): string {
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  const query = q === -1 ? '' : path.slice(q);
  return `/${p.split('/').map(encodeURIComponent).join('/')}${query}`;
}

export class VaultHttp {
  readonly address: string;
  readonly #client: ReturnType<typeof nodeVault>;
  readonly #transport: VaultTransport;
  readonly #namespace: string;

  constructor(opts: VaultHttpOptions) {
    this.address = opts.address.replace(/\/+$/, '');
    this.#transport = new VaultTransport({
      timeoutMs: opts.timeoutMs,
      rejectUnauthorized: !opts.insecureSkipVerify,
      ca: opts.ca,
      servername: opts.serverName,
      maxBodyBytes: opts.maxBodyBytes,
      clientCert: opts.clientCert,
    });
    const transport = this.#transport;
    // VAULT_SKIP_VERIFY / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX in the
    // environment would silently change node-vault's behaviour: the config is
    // the only source of truth, so every such default is pinned here.
    this.#client = nodeVault({
      endpoint: this.address,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      // node-vault's own axios transport is never built (nor, in the bundle,
      // axios: image/slim-deps.mjs); its rpDefaults (and so VAULT_SKIP_VERIFY)
      // are ignored, the TLS settings above being the only ones
      'request-promise': { defaults: () => transport.send },
      // node-vault's default logger prints request bodies (an AppRole
      // secret_id, a Kubernetes JWT) to stderr when DEBUG matches it
      debug: () => {},
    } as Parameters<typeof nodeVault>[0]);
    const c = this.#client as unknown as { token: string; namespace: string; pathPrefix: string };
    c.token = '';
    c.namespace = opts.namespace ?? '';
    this.#namespace = c.namespace;
    c.pathPrefix = '';
    // node-vault's error for a non-2xx answer keeps only its status and body;
    // the Retry-After goes along with it from here (handleVaultResponse is
    // node-vault's public hook, looked up on every request)
    const handle = this.#client.handleVaultResponse.bind(this.#client);
    this.#client.handleVaultResponse = (res?: { statusCode: number; body: unknown }) =>
      handle(res as Parameters<typeof handle>[0]).catch((e: unknown) => {
        const retryAfterMs = parseRetryAfter((res as VaultTransportResponse | undefined)?.headers?.['retry-after']);
        throw retryAfterMs === undefined || typeof e !== 'object' || e === null ? e : Object.assign(e, { retryAfterMs });
      });
  }

  async call(method: 'GET' | 'PUT' | 'POST', path: string, opts: CallOptions = {}): Promise<VaultReply> {
    opts.signal?.throwIfAborted();
    const reply = method === 'GET' && opts.body === undefined ? await this.#read(path, opts) : await this.#throughNodeVault(method, path, opts);
    // Vault answers everything, its errors included, in JSON: a page from a
    // web server, a proxy or a UI is not Vault, at any status (a 2xx page must
    // not pass for an empty secret, a 404 page not for a missing one). Only a
    // redirect's body is Go's own HTML, and its status says all (errors.ts).
    if (isNonJsonBody(reply.body) && reply.status !== 307 && reply.status !== 308) throw reply.body.asError(reply.status);
    return reply;
  }

  /**
   * A read (a secret, its metadata, a token lookup) straight on the
   * transport: the same URI, headers and reply as through node-vault, without
   * its per-request schema check (tv4) and promise chain, which were ~7 % of
   * a sidecar check's CPU in lite mode. Writes, logins and renewals still go
   * through node-vault.
   */
  async #read(path: string, opts: CallOptions): Promise<VaultReply> {
    const headers: Record<string, string> = {};
    if (opts.token) headers['X-Vault-Token'] = opts.token;
    if (this.#namespace) headers['X-Vault-Namespace'] = this.#namespace;
    const res = await this.#transport.send({ method: 'GET', uri: `${this.address}/v1${encodePath(path)}`, headers, signal: opts.signal });
    // node-vault's reading, kept: 200 and 204 are a body (204 when there is none), anything else a status
    if (res.statusCode === 200 || res.statusCode === 204) return { status: res.body === undefined ? 204 : 200, body: res.body };
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return { status: res.statusCode, body: res.body, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  async #throughNodeVault(method: 'GET' | 'PUT' | 'POST', path: string, opts: CallOptions): Promise<VaultReply> {
    const request: Record<string, unknown> = {
      method,
      path: encodePath(path),
      headers: opts.token ? { 'X-Vault-Token': opts.token } : {},
      // passed through by node-vault to the transport, which aborts the request itself
      signal: opts.signal,
    };
    if (opts.body !== undefined) request.json = opts.body;
    return this.#client.request(request as { path: string; method: string }).then(
      (body: unknown): VaultReply => ({ status: body === undefined ? 204 : 200, body }),
      (e: unknown): VaultReply => {
        const { response: r, retryAfterMs } = e as ApiResponseErrorShape;
        if (r && typeof r.statusCode === 'number') {
          return { status: r.statusCode, body: r.body, ...(typeof retryAfterMs === 'number' ? { retryAfterMs } : {}) };
        }
        throw e;
      },
    );
  }

  close(): void {
    this.#transport.close();
  }
}
