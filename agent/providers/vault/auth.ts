// Who we are to Vault: log in with the configured method, learn the token's
// TTL, renew it. Credential files resolve against the config's directory and
// are re-read on every login (a rotated token or secret ID is picked up).

import { abortable } from '../abortable.ts';
import path from 'node:path';
import { AgentError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { registerSecretValue } from '../../log/secret-registry.ts';
import { tokenTtlSeconds } from '../backend-numbers.ts';
import type { VaultHttp, VaultReply } from './client.ts';
import { type VaultCallContext, aborted, endpointMissing, httpFailure, transportFailure, vaultSays } from './errors.ts';
import type { VaultAuthConfig } from './schema.ts';
import { isReadRefusal, readBounded } from '../../files/bounded-read.ts';
import { READ_LIMITS } from '../../files/read-limits.ts';
import { checkClientCert } from './client-cert.ts';
import { credentialHash } from './credential-watch.ts';

/** bounds a login that several fetches wait for */
const SHARED_LOGIN_TIMEOUT_MS = 30_000;

export interface TokenState {
  token: string;
  /** +1 per login: leases remember which token they came from */
  generation: number;
  renewable: boolean;
  /** epoch ms of the login or last renewal */
  obtainedAt: number;
  ttlSeconds: number;
  /** epoch ms; undefined for a token that never expires */
  expiresAt: number | undefined;
  /** the TTL the login granted */
  loginTtlSeconds: number;
  /** the namespace the token was made in (token lookup's namespace_path), when Vault says */
  namespacePath?: string | undefined;
}

/** the token as a lease, in the shape the scheduler's nextTokenAction takes */
export interface TokenInfo {
  /** TTL granted at obtainedAt (0: never expires) */
  ttlSeconds: number;
  renewable: boolean;
  /** epoch ms of the login or last renewal */
  obtainedAt: number;
  /** epoch ms; undefined for a token that never expires */
  expiresAt: number | undefined;
  /** the TTL the login granted: a renewal that comes back shorter hit the max TTL */
  requestedTtlSeconds: number;
}

export interface VaultAuthOptions {
  provider: string;
  address: string;
  namespace: string | undefined;
  baseDir: string;
  now(): number;
  logger: Logger;
  timeoutMs: number;
  caFile: string | undefined;
  /** a connection to Vault that presents this client certificate (cert auth's login) */
  clientCertHttp?: (clientCert: { cert: string; key: string }) => VaultHttp;
}

interface AuthBlock {
  client_token: string;
  lease_duration: number;
  renewable: boolean;
  policies?: unknown;
  /** the identity entity the login mapped to: tells one credential's identity from another's */
  entityId?: string;
}

function authBlock(body: unknown, onProblem: (problem: string) => void): AuthBlock | undefined {
  const a = (body as { auth?: Record<string, unknown> } | undefined)?.auth;
  if (!a || typeof a !== 'object' || typeof a.client_token !== 'string' || a.client_token === '') return undefined;
  const ttl = tokenTtlSeconds(a.lease_duration);
  if (ttl.problem) onProblem(`auth.lease_duration ${ttl.problem}`);
  return {
    client_token: a.client_token,
    lease_duration: ttl.seconds,
    renewable: a.renewable === true,
    policies: a.policies,
    ...(typeof a.entity_id === 'string' && a.entity_id !== '' ? { entityId: a.entity_id.slice(0, 100) } : {}),
  };
}

export class VaultAuth {
  readonly #http: VaultHttp;
  readonly #cfg: VaultAuthConfig;
  readonly #o: VaultAuthOptions;
  #state: TokenState | undefined;
  #generation = 0;
  #loggingIn: Promise<TokenState> | undefined;
  #loginHash: string | undefined;
  /** credentials read from files and tokens received, so error texts can be scrubbed of them; shared live with call contexts */
  readonly sensitive: string[] = [];

  constructor(http: VaultHttp, cfg: VaultAuthConfig, opts: VaultAuthOptions) {
    this.#http = http;
    this.#cfg = cfg;
    this.#o = opts;
  }

  get state(): TokenState | undefined {
    return this.#state;
  }

  /** a digest of the credential files the last successful login read (jwt and cert methods), for CredentialWatch */
  get loginHash(): string | undefined {
    return this.#loginHash;
  }

  /** the files a jwt or cert login reads, absolute, in the order credentialHash takes them */
  credentialFiles(): string[] {
    const cfg = this.#cfg;
    if (cfg.method === 'jwt') return [this.#abs(cfg.jwtFile)];
    if (cfg.method === 'cert') return [this.#abs(cfg.certFile), this.#abs(cfg.keyFile)];
    return [];
  }

  info(): TokenInfo | undefined {
    const s = this.#state;
    if (!s) return undefined;
    return { ttlSeconds: s.ttlSeconds, renewable: s.renewable, obtainedAt: s.obtainedAt, expiresAt: s.expiresAt, requestedTtlSeconds: s.loginTtlSeconds };
  }

  /** the current token, logging in first when there is none or it has run out by our clock */
  async ensure(signal?: AbortSignal): Promise<TokenState> {
    const s = this.#state;
    if (s && (s.expiresAt === undefined || this.#o.now() < s.expiresAt)) return s;
    return this.login(signal);
  }

  /** a fresh login; concurrent callers share one. No one caller's signal may
   * cancel the shared login (the others would inherit its cancellation); each
   * caller only stops waiting for it when its own signal fires. */
  login(signal?: AbortSignal): Promise<TokenState> {
    this.#loggingIn ??= this.#login(AbortSignal.timeout(SHARED_LOGIN_TIMEOUT_MS)).finally(() => {
      this.#loggingIn = undefined;
    });
    return signal ? abortable(this.#loggingIn, signal) : this.#loggingIn;
  }

  /** renew-self. Returns undefined when this token cannot be renewed (not renewable, run out, revoked): the caller logs in again. */
  async renew(signal?: AbortSignal): Promise<TokenState | undefined> {
    const s = this.#state;
    if (!s) return this.login(signal); // first use: a fresh token is as good as a renewed one
    if (!s.renewable || (s.expiresAt !== undefined && this.#o.now() >= s.expiresAt)) return undefined;
    const c = this.#context('renewing the Vault token', 'auth/token/renew-self', 'update');
    const reply = await this.#send(c, 'POST', 'auth/token/renew-self', { token: s.token, body: {}, signal });
    if (reply.status === 400 || reply.status === 403) return undefined;
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    const a = authBlock(reply.body, (p) => this.#numberProblem(c.path, p));
    if (!a) throw new AgentError('unavailable', `vault provider "${this.#o.provider}": Vault at ${this.#o.address} answered renew-self without an auth block`, { provider: this.#o.provider });
    const now = this.#o.now();
    const next: TokenState = {
      ...s,
      renewable: a.renewable,
      obtainedAt: now,
      ttlSeconds: a.lease_duration,
      expiresAt: a.lease_duration > 0 ? now + a.lease_duration * 1000 : undefined,
    };
    if (this.#state?.generation === s.generation) this.#state = next;
    this.#o.logger.info({ provider: this.#o.provider, ttlSeconds: a.lease_duration, renewable: a.renewable }, 'vault token renewed');
    return next;
  }

  /** asks Vault whether a token still works: tells a dead token from a policy denial */
  async alive(s: TokenState, signal?: AbortSignal): Promise<boolean> {
    const c = this.#context('looking up the Vault token', 'auth/token/lookup-self', 'read');
    try {
      const reply = await this.#send(c, 'GET', 'auth/token/lookup-self', { token: s.token, signal });
      return reply.status !== 403;
    } catch {
      return true; // cannot tell: keep the original answer
    }
  }

  async #login(signal?: AbortSignal): Promise<TokenState> {
    const cfg = this.#cfg;
    let state: TokenState;
    if (cfg.method === 'token') state = await this.#tokenFileLogin(cfg.tokenFile, signal);
    else if (cfg.method === 'kubernetes') {
      const jwt = await this.#readCredential('auth.jwtFile', cfg.jwtFile);
      state = await this.#methodLogin(cfg.mount, { role: cfg.role, jwt }, signal, (says) => this.#kubernetesRefused(cfg.mount, cfg.role, cfg.jwtFile, says));
    } else if (cfg.method === 'jwt') {
      const jwt = await this.#readCredential('auth.jwtFile', cfg.jwtFile);
      state = await this.#methodLogin(cfg.mount, { role: cfg.role, jwt }, signal, (says) => this.#jwtRefused(cfg.mount, cfg.role, cfg.jwtFile, says));
      this.#loginHash = credentialHash([jwt]);
    } else if (cfg.method === 'cert') {
      const cert = await this.#readText('auth.certFile', cfg.certFile, READ_LIMITS.tls);
      const key = await this.#readText('auth.keyFile', cfg.keyFile, READ_LIMITS.tls);
      const problem = checkClientCert(cert, key);
      if (problem) {
        throw new AgentError('auth', `vault provider "${this.#o.provider}": ${problem(this.#abs(cfg.certFile), this.#abs(cfg.keyFile))}`, { where: `providers.${this.#o.provider}.auth`, provider: this.#o.provider, retryable: false });
      }
      registerSecretValue(key.trim());
      this.#remember(key.trim());
      if (!this.#o.clientCertHttp) throw new AgentError('internal', `vault provider "${this.#o.provider}": cert auth has no way to present a client certificate`);
      // a connection of its own, only for the login: the other calls carry the token
      const http = this.#o.clientCertHttp({ cert, key });
      try {
        state = await this.#methodLogin(cfg.mount, cfg.name !== undefined ? { name: cfg.name } : {}, signal, (says) => this.#certRefused(cfg.mount, cfg.name, cfg.certFile, says), http);
      } finally {
        http.close();
      }
      this.#loginHash = credentialHash([cert, key]);
    } else {
      const roleId = await this.#readCredential('auth.roleIdFile', cfg.roleIdFile);
      const secretId = await this.#readCredential('auth.secretIdFile', cfg.secretIdFile);
      state = await this.#methodLogin(cfg.mount, { role_id: roleId, secret_id: secretId }, signal, (says) => this.#approleRefused(cfg.mount, cfg.roleIdFile, cfg.secretIdFile, says));
    }
    this.#state = state;
    return state;
  }

  async #tokenFileLogin(file: string, signal?: AbortSignal): Promise<TokenState> {
    const token = await this.#readCredential('auth.tokenFile', file);
    const c = this.#context('looking up the Vault token', 'auth/token/lookup-self', 'read');
    const reply = await this.#send(c, 'GET', 'auth/token/lookup-self', { token, signal });
    if (reply.status === 403) {
      throw new AgentError(
        'auth',
        `vault provider "${this.#o.provider}": Vault at ${this.#o.address} does not accept the token in auth.tokenFile (${this.#abs(file)}): it is expired, revoked, or from another Vault or namespace (or lacks the default policy, which allows auth/token/lookup-self); put a valid token in the file`,
        { where: `providers.${this.#o.provider}.auth.tokenFile`, provider: this.#o.provider },
      );
    }
    // every Vault has lookup-self: a 404 is a missing namespace or not Vault at all
    if (reply.status === 404) throw endpointMissing(c, reply.body);
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    const body = reply.body as { data?: unknown } | undefined;
    const d = (body && typeof body.data === 'object' && body.data !== null ? body.data : {}) as Record<string, unknown>;
    const checked = tokenTtlSeconds(d.ttl);
    if (checked.problem) this.#numberProblem(c.path, `data.ttl ${checked.problem}`);
    const ttl = checked.seconds;
    const now = this.#o.now();
    const state: TokenState = {
      token,
      generation: ++this.#generation,
      renewable: d.renewable === true,
      obtainedAt: now,
      ttlSeconds: ttl,
      expiresAt: ttl > 0 ? now + ttl * 1000 : undefined,
      loginTtlSeconds: ttl,
      namespacePath: typeof d.namespace_path === 'string' ? d.namespace_path : undefined,
    };
    this.#o.logger.info({ provider: this.#o.provider, method: 'token', ttlSeconds: ttl, renewable: state.renewable }, 'vault token loaded');
    return state;
  }

  async #methodLogin(mount: string, body: Record<string, string>, signal: AbortSignal | undefined, refused: (says: string) => AgentError, http = this.#http): Promise<TokenState> {
    const loginPath = `auth/${mount}/login`;
    const c = this.#context(`logging in at ${loginPath}`, loginPath, 'update');
    const reply = await this.#send(c, 'POST', loginPath, { body, signal }, http);
    if (reply.status === 400 || reply.status === 403) throw refused(vaultSays(reply.body, this.sensitive));
    // an auth mount that is not there answers 403 (above); a 404 is a missing namespace or not Vault at all
    if (reply.status === 404) throw endpointMissing(c, reply.body);
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    const a = authBlock(reply.body, (p) => this.#numberProblem(c.path, p));
    if (!a) throw new AgentError('auth', `vault provider "${this.#o.provider}": login at ${loginPath} returned no token`, { provider: this.#o.provider });
    registerSecretValue(a.client_token);
    this.#remember(a.client_token);
    const now = this.#o.now();
    this.#o.logger.info(
      { provider: this.#o.provider, method: this.#cfg.method, mount, ttlSeconds: a.lease_duration, renewable: a.renewable, policies: a.policies, entityId: a.entityId },
      'vault login succeeded',
    );
    return {
      token: a.client_token,
      generation: ++this.#generation,
      renewable: a.renewable,
      obtainedAt: now,
      ttlSeconds: a.lease_duration,
      expiresAt: a.lease_duration > 0 ? now + a.lease_duration * 1000 : undefined,
      loginTtlSeconds: a.lease_duration,
    };
  }

  #kubernetesRefused(mount: string, role: string, jwtFile: string, says: string): AgentError {
    return new AgentError(
      'auth',
      `vault provider "${this.#o.provider}": kubernetes login at auth/${mount}/login as role "${role}" was refused${says ? ` (${says})` : ''}: Vault did not accept the service account token in auth.jwtFile (${this.#abs(jwtFile)}) for that role; check the role exists and binds this pod's service account name and namespace`,
      { where: `providers.${this.#o.provider}.auth`, provider: this.#o.provider },
    );
  }

  #jwtRefused(mount: string, role: string, jwtFile: string, says: string): AgentError {
    return new AgentError(
      'auth',
      `vault provider "${this.#o.provider}": jwt login at auth/${mount}/login as role "${role}" was refused${says ? ` (${says})` : ''}: Vault did not accept the JWT in auth.jwtFile (${this.#abs(jwtFile)}) for that role; check that the mount trusts its signer (jwt_validation_pubkeys, jwks_url or oidc_discovery_url), that the role's bound_audiences holds the token's audience (for a Kubernetes projected token: the volume's audience), and its bound_subject / bound_claims`,
      { where: `providers.${this.#o.provider}.auth`, provider: this.#o.provider },
    );
  }

  #certRefused(mount: string, name: string | undefined, certFile: string, says: string): AgentError {
    return new AgentError(
      'auth',
      `vault provider "${this.#o.provider}": cert login at auth/${mount}/login${name !== undefined ? ` as "${name}"` : ''} was refused${says ? ` (${says})` : ''}: Vault did not accept the client certificate in auth.certFile (${this.#abs(certFile)}); check that a cert role on the mount${name !== undefined ? ` (auth/${mount}/certs/${name})` : ''} trusts the CA that issued it, that its allowed names match, and that it has not expired`,
      { where: `providers.${this.#o.provider}.auth`, provider: this.#o.provider },
    );
  }

  #approleRefused(mount: string, roleIdFile: string, secretIdFile: string, says: string): AgentError {
    return new AgentError(
      'auth',
      `vault provider "${this.#o.provider}": approle login at auth/${mount}/login was refused${says ? ` (${says})` : ''}: check auth.roleIdFile (${this.#abs(roleIdFile)}) and auth.secretIdFile (${this.#abs(secretIdFile)}); a secret ID can expire or run out of uses`,
      { where: `providers.${this.#o.provider}.auth`, provider: this.#o.provider },
    );
  }

  /** a TTL in Vault's answer was out of bounds and replaced (backend-numbers.ts) */
  #numberProblem(apiPath: string, problem: string): void {
    this.#o.logger.warn({ provider: this.#o.provider, path: apiPath, problem }, `vault answered ${apiPath} with a token TTL out of bounds: ${problem}`);
  }

  #remember(value: string): void {
    if (!this.sensitive.includes(value)) this.sensitive.push(value);
  }

  #abs(file: string): string {
    return path.resolve(this.#o.baseDir, file);
  }

  /** a credential file's text, bounded, never a FIFO or a device */
  async #readText(key: string, file: string, limit: number): Promise<string> {
    const abs = this.#abs(file);
    const where = `providers.${this.#o.provider}.${key}`;
    try {
      return (await readBounded(abs, limit)).toString('utf8');
    } catch (e) {
      if (!isReadRefusal(e)) throw e;
      const code = e.errno ?? 'error';
      const why =
        e.kind !== 'errno' ? e.message : code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : 'unreadable';
      throw new AgentError('auth', `vault provider "${this.#o.provider}": cannot read ${key} ${abs}: ${why}${e.kind === 'errno' ? ` (${code})` : ''}`, { where, provider: this.#o.provider, retryable: false });
    }
  }

  async #readCredential(key: string, file: string): Promise<string> {
    const abs = this.#abs(file);
    const where = `providers.${this.#o.provider}.${key}`;
    // a credential is one short word
    const value = (await this.#readText(key, file, READ_LIMITS.credential)).trim();
    if (value === '') throw new AgentError('auth', `vault provider "${this.#o.provider}": ${key} ${abs} is empty`, { where, provider: this.#o.provider, retryable: false });
    // a token, role or secret id, or JWT is one word: a line break inside (two
    // files concatenated, a pasted PEM) would otherwise fail later as a header
    // Node refuses, and be retried as if Vault were down
    if (/[\s\x00-\x1f\x7f]/.test(value)) {
      throw new AgentError('auth', `vault provider "${this.#o.provider}": ${key} ${abs} holds a line break, space or control character inside its value; it must hold the credential alone, on one line`, {
        where,
        provider: this.#o.provider,
        retryable: false,
      });
    }
    registerSecretValue(value);
    this.#remember(value);
    return value;
  }

  #context(action: string, apiPath: string, capability: 'read' | 'update'): VaultCallContext {
    return {
      provider: this.#o.provider,
      address: this.#o.address,
      namespace: this.#o.namespace,
      path: apiPath,
      action,
      where: `providers.${this.#o.provider}.auth`,
      capability,
      sensitive: this.sensitive,
      caFile: this.#o.caFile,
      timeoutMs: this.#o.timeoutMs,
    };
  }

  async #send(c: VaultCallContext, method: 'GET' | 'POST', apiPath: string, opts: { token?: string; body?: unknown; signal?: AbortSignal | undefined }, http = this.#http): Promise<VaultReply> {
    try {
      return await http.call(method, apiPath, opts);
    } catch (e) {
      if (opts.signal?.aborted) throw aborted(c, opts.signal.reason);
      throw transportFailure(c, e);
    }
  }
}
