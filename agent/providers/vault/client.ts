// The one place that talks HTTP to Vault, through node-vault's raw request.
// Every answer comes back as { status, body } (node-vault rejects non-2xx with
// the status and body attached; KV v2 soft deletes need that 404 body);
// transport failures are thrown as they come, for errors.ts to classify.

import { abortable } from '../abortable.ts';
import http from 'node:http';
import https from 'node:https';
import nodeVault from 'node-vault';

export interface VaultHttpOptions {
  address: string;
  namespace: string | undefined;
  /** PEM text of tls.caFile */
  ca: string | undefined;
  serverName: string | undefined;
  insecureSkipVerify: boolean;
  timeoutMs: number;
}

export interface VaultReply {
  status: number;
  /** parsed JSON, or undefined for 204 / empty bodies */
  body: unknown;
}

export interface CallOptions {
  token?: string | undefined;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

interface ApiResponseErrorShape {
  response?: { statusCode?: unknown; body?: unknown };
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
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: https.Agent;

  constructor(opts: VaultHttpOptions) {
    this.address = opts.address.replace(/\/+$/, '');
    // VAULT_SKIP_VERIFY / VAULT_TOKEN / VAULT_NAMESPACE / VAULT_PREFIX in the
    // environment would silently change node-vault's behaviour: the config is
    // the only source of truth, so every such default is pinned here.
    this.#client = nodeVault({
      endpoint: this.address,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      rpDefaults: { strictSSL: true, timeout: opts.timeoutMs },
      // node-vault's default logger prints request bodies (an AppRole
      // secret_id, a Kubernetes JWT) to stderr when DEBUG matches it
      debug: () => {},
    } as Parameters<typeof nodeVault>[0]);
    const c = this.#client as unknown as { token: string; namespace: string; pathPrefix: string };
    c.token = '';
    c.namespace = opts.namespace ?? '';
    c.pathPrefix = '';
    this.#httpAgent = new http.Agent({ keepAlive: true });
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: !opts.insecureSkipVerify,
      ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
      ...(opts.serverName !== undefined ? { servername: opts.serverName } : {}),
    });
  }

  async call(method: 'GET' | 'PUT' | 'POST', path: string, opts: CallOptions = {}): Promise<VaultReply> {
    opts.signal?.throwIfAborted();
    const request: Record<string, unknown> = {
      method,
      path: encodePath(path),
      headers: opts.token ? { 'X-Vault-Token': opts.token } : {},
      httpAgent: this.#httpAgent,
      httpsAgent: this.#httpsAgent,
    };
    if (opts.body !== undefined) request.json = opts.body;
    const pending = this.#client.request(request as { path: string; method: string }).then(
      (body: unknown): VaultReply => ({ status: body === '' || body === undefined ? 204 : 200, body: body === '' ? undefined : body }),
      (e: unknown): VaultReply => {
        const r = (e as ApiResponseErrorShape).response;
        if (r && typeof r.statusCode === 'number') return { status: r.statusCode, body: r.body === '' ? undefined : r.body };
        throw e;
      },
    );
    if (!opts.signal) return pending;
    // node-vault takes no AbortSignal: stop waiting when it fires (the request itself ends at the timeout)
    return abortable(pending, opts.signal);
  }

  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }
}
