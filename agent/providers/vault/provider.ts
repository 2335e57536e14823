// The vault provider: KV v1, KV v2 and leased (dynamic) secrets over one
// Vault token, with cheap change checks on KV v2 metadata, lease renew and
// revoke, and the token lifecycle (renew, re-login) exposed for the
// scheduler. It fetches and never logs a value.

import path from 'node:path';
import { parseDuration } from '../../config/duration.ts';
import { issueLines } from '../../config/issues.ts';
import { AgentError } from '../../errors.ts';
import { isoOrUnknown } from '../backend-numbers.ts';
import type { Logger } from '../../log/logger.ts';
import { registerSecretData } from '../../log/secret-registry.ts';
import type { Provider, ProviderContext, SecretRef, SecretValue } from '../provider.ts';
import { type TokenInfo, type TokenState, VaultAuth } from './auth.ts';
import { type VaultReply, VaultHttp } from './client.ts';
import { type VaultCallContext, aborted, emptyResponse, httpFailure, isLeaseGone, leaseGone, leaseRenewFailed, transportFailure, versionDeleted, versionDestroyed, versionMissing } from './errors.ts';
import { kvV2MetadataPath, kvV2Tombstone, kvV2VersionState, leaseRenewal, toSecretValue } from './response.ts';
import { type VaultProviderConfig, type VaultSecretSpec, providerConfigSchema, secretSpecSchema } from './schema.ts';
import { DEFAULT_REISSUE_FRACTION, describeWrite, issuedValue, secretPartOf } from './write.ts';
import { isReadRefusal, readBounded, refusalDetail } from '../../files/bounded-read.ts';
import { READ_LIMITS } from '../../files/read-limits.ts';
import { CredentialWatch } from './credential-watch.ts';

const DEFAULT_TIMEOUT_MS = 30_000;
/** how often a jwt or cert credential file is checked for a replacement, unless auth.checkInterval says */
const DEFAULT_CREDENTIAL_CHECK_MS = 10_000;

interface LeaseOwner {
  secret: string;
  /** the token generation the lease was obtained under */
  generation: number;
  /** the TTL Vault first gave, asked for again on renew */
  initialTtl: number;
}

export class VaultProvider implements Provider {
  readonly type = 'vault';
  readonly name: string;
  readonly #cfg: VaultProviderConfig;
  readonly #http: VaultHttp;
  readonly #auth: VaultAuth;
  readonly #ctx: ProviderContext;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #leases = new Map<string, LeaseOwner>();
  /** metadata paths the policy does not let us read: poll those with full reads */
  readonly #metadataDenied = new Set<string>();
  #credentialTimer: NodeJS.Timeout | undefined;
  #checkingCredentials = false;

  constructor(name: string, cfg: VaultProviderConfig, ca: string | undefined, timeoutMs: number, ctx: ProviderContext) {
    this.name = name;
    this.#cfg = cfg;
    this.#ctx = ctx;
    this.#log = ctx.logger;
    this.#timeoutMs = timeoutMs;
    this.#http = new VaultHttp({
      address: cfg.address,
      namespace: cfg.namespace || undefined,
      ca,
      serverName: cfg.tls?.serverName,
      insecureSkipVerify: cfg.tls?.insecureSkipVerify ?? false,
      timeoutMs,
    });
    this.#auth = new VaultAuth(this.#http, cfg.auth, {
      provider: name,
      address: this.#http.address,
      namespace: cfg.namespace || undefined,
      baseDir: ctx.baseDir,
      now: () => ctx.now(),
      logger: ctx.logger,
      timeoutMs,
      caFile: this.#caFileShown(),
      clientCertHttp: (clientCert) =>
        new VaultHttp({ address: cfg.address, namespace: cfg.namespace || undefined, ca, serverName: cfg.tls?.serverName, insecureSkipVerify: cfg.tls?.insecureSkipVerify ?? false, timeoutMs, clientCert }),
    });
    if (cfg.auth.method === 'jwt' || cfg.auth.method === 'cert') this.#watchCredentials(cfg.auth.checkInterval);
  }

  describe(ref: SecretRef): string {
    const s = specOf(ref);
    const ns = this.#cfg.namespace ? ` in namespace "${this.#cfg.namespace}"` : '';
    if (s.write) return `vault write ${s.path} (${describeWrite(s.write)})${ns} at ${this.#http.address}`;
    return `vault ${s.path}${s.version !== undefined ? ` (version ${s.version})` : ''}${ns} at ${this.#http.address}`;
  }

  /** a secret with `write:` is issued (a POST), not read: `plan` must not fetch it */
  issues(ref: SecretRef): boolean {
    return specOf(ref).write !== undefined;
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue> {
    const s = specOf(ref);
    if (s.write) return this.#issue(ref, s, s.write, signal);
    const c = this.#context(s.path, `reading ${s.path}`, `secrets.${ref.name}`, 'read');
    const { reply, state } = await this.#authorized(c, 'GET', s.version !== undefined ? `${s.path}?version=${s.version}` : s.path, undefined, signal);
    // current Vault answers a deleted version with 404 plus the envelope; some older releases with 200
    const tomb = reply.status === 404 || reply.status === 200 ? kvV2Tombstone(reply.body) : undefined;
    if (tomb) throw tomb.destroyed ? versionDestroyed(c, tomb.version) : versionDeleted(c, tomb.version, tomb.deletionTime);
    // a pinned version Vault does not have: a plain 404, which would otherwise read as "no secret"
    if (reply.status === 404 && s.version !== undefined) throw versionMissing(c, s.version);
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    let value: SecretValue | undefined;
    try {
      value = toSecretValue(reply.body, this.#ctx.now(), `vault ${s.path} (secrets.${ref.name})`, (problem) => this.#numberProblem(ref.name, s.path, problem));
    } catch (e) {
      // a refused answer may still have minted credentials (a database user):
      // give its lease back rather than leave it to its TTL, once per refusal
      await this.#revokeRefused(ref.name, reply.body);
      throw e;
    }
    if (!value) throw emptyResponse(c);
    registerSecretData(value.data);
    if (value.lease) this.#leases.set(value.lease.id, { secret: ref.name, generation: state.generation, initialTtl: value.lease.ttlSeconds });
    this.#log.debug({ provider: this.name, secret: ref.name, path: s.path, version: value.version, leased: value.lease !== undefined }, 'vault secret read');
    return value;
  }

  async changed(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean> {
    // a leased secret is kept by renewing it; reading it again would mint new credentials
    if (known.lease) return false;
    const s = specOf(ref);
    // nor is a written one checked by writing again: that issues a new certificate.
    // It is issued again on its lifetime's clock (secret-checks.ts)
    if (s.write) return false;
    const metadataPath = known.version !== undefined ? kvV2MetadataPath(s.path) : undefined;
    if (metadataPath === undefined || this.#metadataDenied.has(metadataPath)) return this.#changedByReading(ref, known, signal);

    const c = this.#context(metadataPath, `reading ${metadataPath}`, `secrets.${ref.name}`, 'read');
    const { reply } = await this.#authorized(c, 'GET', metadataPath, undefined, signal);
    if (reply.status === 403) {
      this.#metadataDenied.add(metadataPath);
      this.#log.info(
        { provider: this.name, secret: ref.name, path: metadataPath },
        `the token may not read ${metadataPath}; checking ${s.path} for changes with full reads (grant read on the metadata path to make checks cheaper)`,
      );
      return this.#changedByReading(ref, known, signal);
    }
    if (reply.status === 404) return true; // the whole secret is gone: a fetch will say so
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    const state = kvV2VersionState(reply.body, this.#ctx.now());
    if (!state) return this.#changedByReading(ref, known, signal);
    if (s.version !== undefined) return state.gone(s.version);
    return String(state.currentVersion) !== known.version || state.gone(state.currentVersion);
  }

  async renew(ref: SecretRef, value: SecretValue, signal: AbortSignal): Promise<SecretValue> {
    const lease = value.lease;
    if (!lease) return value;
    const owner = this.#leases.get(lease.id);
    const c = this.#context('sys/leases/renew', `renewing lease ${lease.id}`, `secrets.${ref.name}`, 'update');
    const { reply } = await this.#authorized(c, 'PUT', 'sys/leases/renew', { lease_id: lease.id, increment: owner?.initialTtl ?? lease.ttlSeconds }, signal);
    if (reply.status === 400 && isLeaseGone(reply.body)) {
      this.#leases.delete(lease.id);
      throw leaseGone(c, lease.id, reply.body);
    }
    // the same 400 when the engine failed (its database unreachable): the lease lives on
    if (reply.status === 400) throw leaseRenewFailed(c, lease.id, reply.body);
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    const renewed = leaseRenewal(reply.body);
    if (!renewed) throw new AgentError('unavailable', `vault provider "${this.name}": Vault at ${this.#http.address} answered a lease renewal without lease_duration`, { provider: this.name });
    if (renewed.problem) this.#numberProblem(ref.name, 'sys/leases/renew', renewed.problem);
    this.#log.debug({ provider: this.name, secret: ref.name, leaseId: lease.id, ttlSeconds: renewed.ttlSeconds }, 'vault lease renewed');
    return { ...value, lease: { id: lease.id, ttlSeconds: renewed.ttlSeconds, renewable: renewed.renewable, obtainedAt: this.#ctx.now() } };
  }

  async revoke(value: SecretValue): Promise<void> {
    const lease = value.lease;
    if (!lease) return;
    const owner = this.#leases.get(lease.id);
    const where = owner ? `secrets.${owner.secret}` : `providers.${this.name}`;
    const c = this.#context('sys/leases/revoke', `revoking lease ${lease.id}`, where, 'update');
    const { reply } = await this.#authorized(c, 'PUT', 'sys/leases/revoke', { lease_id: lease.id }, undefined);
    if (reply.status !== 204 && reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    this.#leases.delete(lease.id);
  }

  /** the token's remaining life by our clock; undefined before the first login */
  tokenInfo(): TokenInfo | undefined {
    return this.#auth.info();
  }

  /** renew the token; when Vault will not (not renewable, expired, revoked), log in again */
  async renewToken(signal?: AbortSignal): Promise<TokenInfo> {
    const current = this.#auth.state;
    if (current && current.expiresAt === undefined) return this.#auth.info()!; // never expires: nothing to do
    const renewed = await this.#auth.renew(signal);
    if (!renewed) {
      this.#log.info({ provider: this.name }, 'vault token cannot be renewed; logging in again');
      await this.relogin(signal);
    }
    return this.#auth.info()!;
  }

  /** a new token; secrets whose leases came from the old one are reported through ctx.invalidate */
  async relogin(signal?: AbortSignal): Promise<TokenInfo> {
    const old = this.#auth.state;
    const fresh = await this.#auth.login(signal);
    if (old) this.#afterRelogin(old, fresh);
    return this.#auth.info()!;
  }

  async close(): Promise<void> {
    clearInterval(this.#credentialTimer);
    this.#http.close();
  }

  /** log in again when the jwt or cert file is replaced (a rotated projected token, a renewed certificate) */
  #watchCredentials(interval: number | string | undefined): void {
    const ms = interval === undefined ? DEFAULT_CREDENTIAL_CHECK_MS : typeof interval === 'number' ? Math.round(interval * 1000) : (parseDuration(interval) ?? DEFAULT_CREDENTIAL_CHECK_MS);
    // the bound the login itself reads with: a JWT is a credential, a certificate or key a PEM file
    const watch = new CredentialWatch(this.#auth.credentialFiles(), this.#cfg.auth.method === 'jwt' ? READ_LIMITS.credential : READ_LIMITS.tls);
    // unref'd: a one-shot init must not stay up for it
    this.#credentialTimer = setInterval(() => void this.#checkCredentials(watch), Math.max(ms, 100)).unref();
  }

  async #checkCredentials(watch: CredentialWatch): Promise<void> {
    const loginHash = this.#auth.loginHash;
    // nothing to compare before the first login; one check at a time
    if (this.#checkingCredentials || loginHash === undefined) return;
    this.#checkingCredentials = true;
    try {
      if (!(await watch.replaced(loginHash))) return;
      this.#log.info({ provider: this.name, method: this.#cfg.auth.method, files: this.#auth.credentialFiles() }, 'vault login credential file replaced; logging in again');
      await this.relogin(AbortSignal.timeout(this.#timeoutMs));
    } catch (e) {
      // the token we have still works: keep it; a later change, an expiry or a 403 logs in again
      this.#log.warn({ provider: this.name, err: e instanceof AgentError ? e.message : 'login failed' }, 'logging in with the replaced credential failed; keeping the current token');
    } finally {
      this.#checkingCredentials = false;
    }
  }

  #afterRelogin(old: TokenState, fresh: TokenState): void {
    if (fresh.token === old.token) {
      // the token file still holds the same token: its leases live on
      for (const owner of this.#leases.values()) if (owner.generation <= old.generation) owner.generation = fresh.generation;
      return;
    }
    const names = new Set<string>();
    for (const [id, owner] of this.#leases) {
      if (owner.generation <= old.generation) {
        names.add(owner.secret);
        this.#leases.delete(id);
      }
    }
    this.#log.info({ provider: this.name, affectedSecrets: [...names] }, 'vault token replaced');
    if (names.size > 0) this.#ctx.invalidate?.('vault token replaced', [...names]);
  }

  /** a POST of the write map; the answer's data is the value (write.ts) */
  async #issue(ref: SecretRef, s: VaultSecretSpec, write: Record<string, unknown>, signal: AbortSignal): Promise<SecretValue> {
    const c = this.#context(s.path, `issuing from ${s.path}`, `secrets.${ref.name}`, 'update');
    const { reply, state } = await this.#authorized(c, 'POST', s.path, write, signal);
    if (reply.status !== 200) throw httpFailure(c, reply.status, reply.body, reply.retryAfterMs);
    let value: SecretValue | undefined;
    try {
      value = issuedValue(reply.body, {
        secret: ref.name,
        now: this.#ctx.now(),
        fraction: s.reissueFraction ?? DEFAULT_REISSUE_FRACTION,
        what: `vault ${s.path} (secrets.${ref.name})`,
        onProblem: (problem) => this.#numberProblem(ref.name, s.path, problem),
      });
    } catch (e) {
      await this.#revokeRefused(ref.name, reply.body);
      throw e;
    }
    if (!value) throw emptyResponse(c);
    registerSecretData(secretPartOf(value.data));
    if (value.lease) this.#leases.set(value.lease.id, { secret: ref.name, generation: state.generation, initialTtl: value.lease.ttlSeconds });
    const serial = value.data.serial_number;
    this.#log.info(
      {
        audit: true,
        provider: this.name,
        secret: ref.name,
        path: s.path,
        ...(serial !== undefined && /^[0-9a-fA-F:]{1,128}$/.test(serial) ? { serial } : {}),
        ...(value.issued ? { validUntil: isoOrUnknown(new Date(value.issued.until)), basis: value.issued.basis } : {}),
      },
      'vault secret issued',
    );
    return value;
  }

  async #changedByReading(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean> {
    const fresh = await this.fetch(ref, signal);
    return fresh.version !== known.version || !sameData(fresh.data, known.data);
  }

  /** a usable token: logs in when there is none, and again (reporting lost leases) when ours has run out */
  async #token(signal: AbortSignal | undefined): Promise<TokenState> {
    const s = this.#auth.state;
    if (s && s.expiresAt !== undefined && this.#ctx.now() >= s.expiresAt) return this.#reloginFrom(s.generation, signal);
    return this.#auth.ensure(signal);
  }

  async #reloginFrom(generation: number, signal: AbortSignal | undefined): Promise<TokenState> {
    const s = this.#auth.state;
    if (s && s.generation !== generation) return s; // someone else already logged in again
    await this.relogin(signal);
    return this.#auth.state!;
  }

  /**
   * One call with our token. A 403 means either the policy says no or the
   * token died (revoked, expired early); lookup-self tells which, and a dead
   * token is replaced and the call tried once more.
   */
  async #authorized(c: VaultCallContext, method: 'GET' | 'PUT' | 'POST', apiPath: string, body: unknown, signal: AbortSignal | undefined): Promise<{ reply: VaultReply; state: TokenState }> {
    let state = await this.#token(signal);
    // known only after the first login: for a 403's hint when the token is another namespace's
    c.tokenNamespace = state.namespacePath;
    let reply = await this.#send(c, method, apiPath, state.token, body, signal);
    if (reply.status === 403 && !(await this.#auth.alive(state, signal))) {
      this.#log.info({ provider: this.name }, 'vault token no longer valid; logging in again');
      state = await this.#reloginFrom(state.generation, signal);
      c.tokenNamespace = state.namespacePath;
      reply = await this.#send(c, method, apiPath, state.token, body, signal);
    }
    return { reply, state };
  }

  async #send(c: VaultCallContext, method: 'GET' | 'PUT' | 'POST', apiPath: string, token: string, body: unknown, signal: AbortSignal | undefined): Promise<VaultReply> {
    try {
      return await this.#http.call(method, apiPath, { token, body, signal });
    } catch (e) {
      if (signal?.aborted) throw aborted(c, signal.reason);
      throw transportFailure(c, e);
    }
  }

  #context(apiPath: string, action: string, where: string, capability: 'read' | 'update'): VaultCallContext {
    return {
      provider: this.name,
      address: this.#http.address,
      namespace: this.#cfg.namespace || undefined,
      path: apiPath,
      action,
      where,
      capability,
      sensitive: this.#auth.sensitive,
      caFile: this.#caFileShown(),
      timeoutMs: this.#timeoutMs,
    };
  }

  async #revokeRefused(secret: string, body: unknown): Promise<void> {
    const leaseId = typeof body === 'object' && body !== null ? (body as { lease_id?: unknown }).lease_id : undefined;
    if (typeof leaseId !== 'string' || leaseId === '') return;
    try {
      await this.revoke({ data: {}, lease: { id: leaseId, ttlSeconds: 0, renewable: false, obtainedAt: this.#ctx.now() } });
      this.#log.info({ audit: true, provider: this.name, secret, leaseId }, 'lease of a refused answer revoked');
    } catch (e) {
      this.#log.warn({ provider: this.name, secret, leaseId, err: e instanceof AgentError ? e.message : 'revoke failed' }, 'revoking the lease of a refused answer failed; it expires by its TTL');
    }
  }

  /** a number in Vault's answer was out of bounds and replaced (backend-numbers.ts) */
  #numberProblem(secret: string, apiPath: string, problem: string): void {
    this.#log.warn({ provider: this.name, secret, path: apiPath, problem }, `vault answered ${apiPath} with a number out of bounds: ${problem}`);
  }

  #caFileShown(): string | undefined {
    const f = this.#cfg.tls?.caFile;
    return f === undefined ? undefined : path.resolve(this.#ctx.baseDir, f);
  }
}

/** specs already validated, by the config's own spec object: a sidecar looks
 * up the spec on every check, and zod's parse of it was ~5 % of a check's CPU.
 * A spec object is never changed after the config is loaded (a reload brings
 * new objects), so the parse of the same object is the same. */
const parsedSpecs = new WeakMap<object, VaultSecretSpec>();

function specOf(ref: SecretRef): VaultSecretSpec {
  const known = parsedSpecs.get(ref.spec);
  if (known) return known;
  const r = secretSpecSchema.safeParse(ref.spec);
  if (!r.success) {
    const lines = issueLines(r.error, ['secrets', ref.name]);
    throw new AgentError('config', lines.join('; '), { where: `secrets.${ref.name}`, problems: lines });
  }
  parsedSpecs.set(ref.spec, r.data);
  return r.data;
}

function sameData(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function timeoutMs(t: VaultProviderConfig['timeout']): number {
  if (t === undefined) return DEFAULT_TIMEOUT_MS;
  return typeof t === 'number' ? Math.round(t * 1000) : (parseDuration(t) ?? DEFAULT_TIMEOUT_MS);
}

async function readCa(name: string, file: string, baseDir: string): Promise<string> {
  const abs = path.resolve(baseDir, file);
  const where = `providers.${name}.tls.caFile`;
  let pem: string;
  try {
    pem = (await readBounded(abs, READ_LIMITS.tls)).toString('utf8');
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    throw new AgentError('config', `vault provider "${name}": cannot read tls.caFile ${abs}${refusalDetail(e)}`, { where, provider: name });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new AgentError('config', `vault provider "${name}": tls.caFile ${abs} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`, { where, provider: name });
  }
  return pem;
}

export async function create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<VaultProvider> {
  const parsed = providerConfigSchema.safeParse(config);
  if (!parsed.success) {
    const lines = issueLines(parsed.error, ['providers', name]);
    throw new AgentError('config', `vault provider "${name}": invalid settings: ${lines.join('; ')}`, { where: `providers.${name}`, problems: lines });
  }
  const cfg = parsed.data;
  const ca = cfg.tls?.caFile ? await readCa(name, cfg.tls.caFile, ctx.baseDir) : undefined;
  if (cfg.tls?.insecureSkipVerify) {
    ctx.logger.warn({ provider: name }, `vault provider "${name}": tls.insecureSkipVerify is on: Vault's certificate is not verified, so anyone on the path can read the secrets`);
  }
  return new VaultProvider(name, cfg, ca, timeoutMs(cfg.timeout), ctx);
}
