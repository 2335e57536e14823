// A protocol-faithful Vault fake for tests: a real HTTP(S) server on
// 127.0.0.1 speaking the parts of the Vault HTTP API the agent uses, with an
// in-process control API (no HTTP) for arranging state, time and failures.
//
//   const vault = await startVaultFake();
//   vault.putKv('secret/app/db', { password: 'x' });   // KV v2 at secret/
//   fetch(`${vault.url}/v1/secret/data/app/db`, { headers: { 'X-Vault-Token': vault.rootToken } })
//   await vault.close();

import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { AppRoleAuth, type AppRole, KubernetesAuth, type KubernetesRole } from './auth-methods.ts';
import type { Engine } from './engine.ts';
import { KvV1, KvV2 } from './kv.ts';
import { DatabaseEngine, type DatabaseRole, type Lease, LeaseManager } from './leases.ts';
import { type Capability, DEFAULT_POLICY, type PolicyRules, allows, capabilitiesFor } from './policy.ts';
import { type TokenEntry, type TokenSpec, TokenStore } from './tokens.ts';
import { tokenEndpoint } from './token-endpoints.ts';
import { type VaultMode, health } from './health.ts';
import { type HostileAnswers, appliesTo, hostileText } from './hostile.ts';
import { type FakeResponse, badRequest, errors, invalidToken, noHandler, permissionDenied, unsupported } from './wire.ts';

export type { VaultMode, HostileAnswers };

export interface VaultFakeOptions {
  /** serve HTTPS with this PEM certificate and key */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** the base clock (epoch ms); default: frozen at start. `advance()` adds to it either way. */
  now?: () => number;
  /** id of the root token; default random */
  rootToken?: string;
  /** mount KV v2 at secret/ (default true) */
  defaultMounts?: boolean;
}

export interface RequestRecord {
  method: string;
  /** URL path without the query, e.g. /v1/secret/data/app */
  path: string;
  query: string;
  namespace: string;
  hadToken: boolean;
  status: number;
}

interface MountOptions {
  namespace?: string;
}

interface KvOptions extends MountOptions {
  cas?: number;
}

type AuthMethod = KubernetesAuth | AppRoleAuth;

export interface VaultFake {
  readonly url: string;
  readonly rootToken: string;
  close(): Promise<void>;

  now(): number;
  /** move the fake clock forward */
  advance(seconds: number): void;

  mountKv(path: string, version: 1 | 2, opts?: MountOptions): void;
  mountDatabase(path?: string, opts?: MountOptions): void;
  /** write at a logical path, e.g. 'secret/app/db' (no data/ for v2); returns the v2 version */
  putKv(path: string, data: Record<string, unknown>, opts?: KvOptions): number | undefined;
  /** v1: remove; v2: soft delete (given versions or the latest) */
  deleteKv(path: string, versions?: number[], opts?: MountOptions): void;
  undeleteKv(path: string, versions: number[], opts?: MountOptions): void;
  destroyKv(path: string, versions: number[], opts?: MountOptions): void;
  /** KV v2: remove every version and the metadata */
  deleteKvMetadata(path: string, opts?: MountOptions): void;

  setPolicy(name: string, rules: PolicyRules, opts?: MountOptions): void;
  /** like `vault namespace create`, parents included; mounting, a policy or a token in a namespace also creates it */
  createNamespace(path: string): void;
  createToken(spec?: TokenSpec): string;
  revokeToken(id: string): void;
  token(id: string): TokenEntry | undefined;
  addKubernetesRole(name: string, role: KubernetesRole, opts?: MountOptions & { mount?: string }): void;
  addAppRole(name: string, role: AppRole, opts?: MountOptions & { mount?: string }): void;
  addDatabaseRole(name: string, role: DatabaseRole, opts?: MountOptions & { mount?: string }): void;
  leases(): Lease[];
  /** run the expiration manager once: revoke expired leases */
  runExpiration(): string[];

  setMode(mode: VaultMode): void;
  /** the next `times` requests (except sys/health) get this status and errors body;
   * `retryAfter` adds a Retry-After header, as Vault's rate limit quotas do on a
   * 429 once sys/quotas/config enable_rate_limit_response_headers is on */
  failNext(status: number, messages?: string[], times?: number, opts?: { retryAfter?: string }): void;
  /** delay every response by ms (for timeout tests) */
  setDelay(ms: number): void;
  /** rewrite 2xx answers with hostile numbers or nesting (hostile.ts); undefined: honest again */
  setHostile(h: HostileAnswers | undefined): void;

  readonly requests: RequestRecord[];
  /** how many requests hit this exact path (optionally with this method) */
  count(path: string, method?: string): number;
}

export async function startVaultFake(opts: VaultFakeOptions = {}): Promise<VaultFake> {
  const frozen = Date.now();
  const baseNow = opts.now ?? (() => frozen);
  let offset = 0;
  const now = (): number => baseNow() + offset;

  const tokens = new TokenStore(now);
  const leases = new LeaseManager(now, tokens);
  const mounts = new Map<string, Map<string, Engine>>(); // namespace -> mount path -> engine
  const authMounts = new Map<string, Map<string, AuthMethod>>(); // namespace -> auth mount -> method
  const policies = new Map<string, PolicyRules>(); // `${ns}\0${name}`
  const root = tokens.create({ policies: ['root'], id: opts.rootToken, displayName: 'root', path: 'auth/token/root' });
  const requests: RequestRecord[] = [];

  let mode: VaultMode = 'active';
  let injected: { status: number; messages: string[]; times: number; retryAfter: string | undefined } | undefined;
  let delayMs = 0;
  let hostile: HostileAnswers | undefined;

  const nsKey = (ns: string | undefined): string => (ns ?? '').replace(/^\/+|\/+$/g, '');
  // as in Vault, a request to a namespace nobody created is refused (404 "namespace not found")
  const namespaces = new Set<string>(['']);
  const createNamespace = (ns: string): void => {
    const segs = nsKey(ns).split('/');
    for (let i = 1; i <= segs.length; i++) namespaces.add(segs.slice(0, i).join('/'));
  };
  const mountsOf = (ns: string): Map<string, Engine> => {
    createNamespace(ns);
    let m = mounts.get(ns);
    if (!m) mounts.set(ns, (m = new Map()));
    return m;
  };
  const authOf = (ns: string): Map<string, AuthMethod> => {
    createNamespace(ns);
    let m = authMounts.get(ns);
    if (!m) authMounts.set(ns, (m = new Map()));
    return m;
  };

  function resolveMount(ns: string, path: string): { mount: string; engine: Engine; rest: string } | undefined {
    let best: { mount: string; engine: Engine; rest: string } | undefined;
    for (const [mount, engine] of mounts.get(ns) ?? []) {
      if ((path === mount || path.startsWith(`${mount}/`)) && (!best || mount.length > best.mount.length)) {
        best = { mount, engine, rest: path.slice(mount.length + 1) };
      }
    }
    return best;
  }

  function kvAt(path: string, ns: string | undefined): { engine: KvV1 | KvV2; rest: string } {
    const hit = resolveMount(nsKey(ns), path);
    if (!hit || !(hit.engine instanceof KvV1 || hit.engine instanceof KvV2)) throw new Error(`vault fake: no KV mount for ${path}`);
    return { engine: hit.engine, rest: hit.rest };
  }

  function policyRules(ns: string, names: string[]): PolicyRules[] {
    const out: PolicyRules[] = [];
    for (const n of names) {
      if (n === 'default') out.push(DEFAULT_POLICY);
      const r = policies.get(`${ns}\0${n}`);
      if (r) out.push(r);
    }
    return out;
  }

  function neededCapabilities(method: string): Capability[] {
    switch (method) {
      case 'GET':
      case 'HEAD':
        return ['read'];
      case 'LIST':
        return ['list'];
      case 'DELETE':
        return ['delete'];
      case 'PATCH':
        return ['patch'];
      default:
        return ['create', 'update'];
    }
  }

  function handleSysLeases(method: string, path: string, body: Record<string, unknown>): FakeResponse | undefined {
    const m = /^sys\/(?:leases\/)?(renew|revoke|lookup)(?:\/(.*))?$/.exec(path);
    if (!m) return undefined;
    if (method !== 'PUT' && method !== 'POST') return unsupported();
    const [, op, tail = ''] = m;
    if (op === 'renew') return leases.handleRenew(body, tail);
    if (op === 'revoke') return leases.handleRevoke(body, tail);
    return leases.handleLookup(body);
  }

  function route(method: string, path: string, query: URLSearchParams, body: Record<string, unknown>, ns: string, tokenId: string | undefined): FakeResponse {
    if (path === 'sys/health') return method === 'GET' || method === 'HEAD' ? health({ mode, now: now() }, query, method) : unsupported();
    if (path === 'sys/seal-status') {
      return { status: 200, body: { type: 'shamir', initialized: true, sealed: mode === 'sealed', t: 1, n: 1, progress: 0, nonce: '', version: '1.17.0' } };
    }

    if (!namespaces.has(ns)) return errors(404, 'namespace not found');
    if (injected && injected.times > 0) {
      injected.times--;
      const failure = errors(injected.status, ...injected.messages);
      return injected.retryAfter === undefined ? failure : { ...failure, headers: { ...failure.headers, 'Retry-After': injected.retryAfter } };
    }
    if (mode === 'sealed') return errors(503, 'Vault is sealed');
    if (mode === 'rate-limited') {
      return { status: 429, headers: { 'Retry-After': '1' }, body: { errors: [`request path "${path}": rate limit quota exceeded`] } };
    }
    if (mode === 'standby') return errors(473, 'performance standby node cannot serve this request');

    // login endpoints need no token, but only where an auth method is mounted
    const login = /^auth\/(.+)\/login$/.exec(path);
    const authMethod = login ? authOf(ns).get(login[1]!) : undefined;
    if (authMethod) return authMethod.login(method, body);

    const token = tokens.live(tokenId);
    if (!token) return invalidToken();
    if (token.namespace !== '' && token.namespace !== ns) return invalidToken();
    const aclPath = token.namespace === ns || ns === '' ? path : `${ns}/${path}`;
    if (!token.policies.includes('root')) {
      const caps = capabilitiesFor(policyRules(token.namespace, token.policies), aclPath);
      if (!allows(caps, neededCapabilities(method))) return permissionDenied();
    }

    const tokenOp = /^auth\/token\/([^/]+)$/.exec(path);
    if (tokenOp) return tokenEndpoint(tokens, method, tokenOp[1]!, body, token);
    const sys = handleSysLeases(method, path, body);
    if (sys) return sys;
    const hit = resolveMount(ns, path);
    if (!hit) return noHandler(path);
    return hit.engine.handle({ method, rest: hit.rest, query, body, token });
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://vault.fake');
    const ns = nsKey(header(req, 'x-vault-namespace'));
    const tokenId = header(req, 'x-vault-token') ?? bearer(header(req, 'authorization'));
    const record: RequestRecord = { method: req.method ?? 'GET', path: url.pathname, query: url.search, namespace: ns, hadToken: tokenId !== undefined, status: 0 };
    requests.push(record);
    const raw = await readBody(req);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));

    let response: FakeResponse;
    let apiPath = '';
    if (!url.pathname.startsWith('/v1/')) {
      response = errors(404);
    } else {
      let body: Record<string, unknown> = {};
      let parseError: string | undefined;
      if (raw.length > 0) {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
          else parseError = 'failed to parse JSON input: request body must be a JSON object';
        } catch (e) {
          parseError = `failed to parse JSON input: ${(e as Error).message}`;
        }
      }
      let method = (req.method ?? 'GET').toUpperCase();
      if (method === 'GET' && ['true', '1'].includes(url.searchParams.get('list') ?? '')) method = 'LIST';
      const path = decodeURIComponent(url.pathname.slice(4)).replace(/\/+$/, '');
      apiPath = path;
      response = parseError ? badRequest(parseError) : route(method, path, url.searchParams, body, ns, tokenId);
    }

    record.status = response.status;
    const headers: Record<string, string> = { 'Cache-Control': 'no-store', ...response.headers };
    if (response.body === undefined) {
      res.writeHead(response.status, headers);
      res.end();
      return;
    }
    const rewrite = hostile !== undefined && response.status < 300 && appliesTo(hostile, apiPath) ? hostile : undefined;
    const text = rewrite ? hostileText(response.body, rewrite) : JSON.stringify(response.body);
    res.writeHead(response.status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    onRequest(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ errors: [`internal error: ${(e as Error).message}`] }));
    });
  };
  const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : http.createServer(handler);
  // with TLS, a front listener answers plain HTTP as Vault (Go's net/http) does
  const listener: net.Server = opts.tls ? net.createServer((socket) => tlsOrPlainHttp(socket, server)) : server;
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;

  const fake: VaultFake = {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    rootToken: root.id,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        if (listener !== server) server.close();
        listener.close(() => resolve());
        server.closeAllConnections();
      }),
    now,
    advance(seconds) {
      offset += seconds * 1000;
    },
    mountKv(path, version, o = {}) {
      mountsOf(nsKey(o.namespace)).set(path, version === 1 ? new KvV1() : new KvV2(now));
    },
    mountDatabase(path = 'database', o = {}) {
      mountsOf(nsKey(o.namespace)).set(path, new DatabaseEngine(path, leases));
    },
    putKv(path, data, o = {}) {
      const { engine, rest } = kvAt(path, o.namespace);
      if (engine instanceof KvV1) {
        engine.put(rest, data);
        return undefined;
      }
      const r = engine.put(rest, data, o.cas);
      if (typeof r === 'string') throw new Error(`vault fake: ${r}`);
      return r.version;
    },
    deleteKv(path, versions, o = {}) {
      const { engine, rest } = kvAt(path, o.namespace);
      if (engine instanceof KvV1) engine.remove(rest);
      else engine.softDelete(rest, versions);
    },
    undeleteKv(path, versions, o = {}) {
      const { engine, rest } = kvAt(path, o.namespace);
      if (engine instanceof KvV2) engine.undelete(rest, versions);
    },
    destroyKv(path, versions, o = {}) {
      const { engine, rest } = kvAt(path, o.namespace);
      if (engine instanceof KvV2) engine.destroy(rest, versions);
    },
    deleteKvMetadata(path, o = {}) {
      const { engine, rest } = kvAt(path, o.namespace);
      if (engine instanceof KvV2) engine.deleteMetadata(rest);
    },
    setPolicy(name, rules, o = {}) {
      createNamespace(nsKey(o.namespace));
      policies.set(`${nsKey(o.namespace)}\0${name}`, rules);
    },
    createNamespace: (ns) => createNamespace(ns),
    createToken(spec = {}) {
      if (spec.namespace) createNamespace(spec.namespace);
      return tokens.create(spec).id;
    },
    revokeToken(id) {
      tokens.revoke(id);
    },
    token(id) {
      return tokens.get(id);
    },
    addKubernetesRole(name, role, o = {}) {
      const ns = nsKey(o.namespace);
      const mount = o.mount ?? 'kubernetes';
      let m = authOf(ns).get(mount);
      if (!m) authOf(ns).set(mount, (m = new KubernetesAuth(mount, tokens, ns)));
      if (!(m instanceof KubernetesAuth)) throw new Error(`vault fake: auth/${mount} is not kubernetes`);
      m.roles.set(name, role);
    },
    addAppRole(name, role, o = {}) {
      const ns = nsKey(o.namespace);
      const mount = o.mount ?? 'approle';
      let m = authOf(ns).get(mount);
      if (!m) authOf(ns).set(mount, (m = new AppRoleAuth(mount, tokens, ns)));
      if (!(m instanceof AppRoleAuth)) throw new Error(`vault fake: auth/${mount} is not approle`);
      m.roles.set(name, { ...role, name });
    },
    addDatabaseRole(name, role, o = {}) {
      const ns = nsKey(o.namespace);
      const mount = o.mount ?? 'database';
      let engine = mountsOf(ns).get(mount);
      if (!engine) {
        fake.mountDatabase(mount, o);
        engine = mountsOf(ns).get(mount);
      }
      if (!(engine instanceof DatabaseEngine)) throw new Error(`vault fake: ${mount} is not a database mount`);
      engine.roles.set(name, role);
    },
    leases: () => leases.all(),
    runExpiration: () => leases.expire(),
    setMode(m) {
      mode = m;
    },
    failNext(status, messages = [], times = 1, opts = {}) {
      injected = { status, messages, times, retryAfter: opts.retryAfter };
    },
    setDelay(ms) {
      delayMs = ms;
    },
    setHostile(h) {
      hostile = h;
    },
    count(path, method) {
      return requests.filter((r) => r.path === path && (method === undefined || r.method === method)).length;
    },
  };
  if (opts.defaultMounts !== false) fake.mountKv('secret', 2);
  return fake;
}

/** Go's net/http on a TLS listener answers a plain HTTP request with this 400, in text */
const HTTP_TO_HTTPS_ANSWER = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n';

/** a TLS handshake starts with a handshake record (0x16): hand those to the HTTPS server, answer anything else as Go does */
function tlsOrPlainHttp(socket: net.Socket, tlsServer: net.Server): void {
  socket.on('error', () => {});
  socket.once('data', (first: Buffer) => {
    socket.pause();
    if (first[0] === 0x16) {
      socket.unshift(first);
      tlsServer.emit('connection', socket);
      process.nextTick(() => socket.resume());
      return;
    }
    socket.end(HTTP_TO_HTTPS_ANSWER);
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

function bearer(auth: string | undefined): string | undefined {
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m ? m[1] : undefined;
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export type { DatabaseRole, KubernetesRole, AppRole, PolicyRules, TokenSpec, Lease };
