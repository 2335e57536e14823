// Azure Key Vault secrets. DefaultAzureCredential unless `credential:` says
// otherwise (AKS workload identity, managed identity, a service principal).
//
// No changed(): Key Vault has no metadata-only read of a secret's current
// version. GET /secrets/{name} returns the value and is billed as one
// operation, and listing versions is billed per page (25 versions, in no
// promised order) and still needs the GET afterwards. So the cheapest check
// is the scheduler's fallback: one getSecret per check, compared by version;
// a changed() that called getSecret would make every change cost two.

import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import { isAbsolute, resolve } from 'node:path';
import { AgentError } from '../../errors.ts';
import { registerSecretData } from '../../log/secret-registry.ts';
import type { Provider, ProviderContext, SecretRef, SecretValue } from '../provider.ts';
import { buildCredential } from './credential.ts';
import { credentialUnavailable, emptyValue, expired, mapAzureError, notJsonObject, notYetValid, type AzureCallContext } from './errors.ts';
import { providerConfigSchema, secretSpecSchema, type AzureProviderConfig, type AzureSecretSpec } from './schema.ts';
import { secretValueToData, versionFromId } from './secret-data.ts';
import { isReadRefusal, readBoundedSync, refusalDetail } from '../../files/bounded-read.ts';
import { READ_LIMITS } from '../../files/read-limits.ts';
import { versionTime } from '../version-time.ts';

export async function create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<Provider> {
  const cfg = parseConfig(name, config);
  const identity = await import('@azure/identity');
  const resolvePath = (p: string) => (isAbsolute(p) ? p : resolve(ctx.baseDir, p));
  let credential: TokenCredential;
  try {
    credential = buildCredential(name, cfg.credential, { identity, resolvePath, readText: (p) => readBoundedSync(p, READ_LIMITS.credential).toString('utf8') });
  } catch (e) {
    // e.g. WorkloadIdentityCredential without AZURE_CLIENT_ID: fail at start-up, clearly
    if (e instanceof AgentError) throw e;
    throw credentialUnavailable(name, cfg.credential.type, e);
  }
  return new AzureProvider(name, cfg, ctx, credential);
}

/** the same provider with a credential supplied by the caller (tests, embedding) */
export async function createWithCredential(name: string, config: Record<string, unknown>, ctx: ProviderContext, credential: TokenCredential): Promise<Provider> {
  return new AzureProvider(name, parseConfig(name, config), ctx, credential);
}

function parseConfig(name: string, config: Record<string, unknown>): AzureProviderConfig {
  const parsed = providerConfigSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `providers.${name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
    throw new AgentError('config', `azure provider "${name}": invalid config: ${problems.join('; ')}`, { where: `providers.${name}`, problems });
  }
  return parsed.data;
}

function readCaFile(name: string, cfg: AzureProviderConfig, baseDir: string): string | undefined {
  if (!cfg.caFile) return undefined;
  const path = isAbsolute(cfg.caFile) ? cfg.caFile : resolve(baseDir, cfg.caFile);
  try {
    return readBoundedSync(path, READ_LIMITS.tls).toString('utf8');
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    throw new AgentError('config', `azure provider "${name}": cannot read caFile ${path}${refusalDetail(e)}`, { where: `providers.${name}.caFile`, cause: e });
  }
}

class AzureProvider implements Provider {
  readonly type = 'azure';
  readonly name: string;
  readonly #config: AzureProviderConfig;
  readonly #ctx: ProviderContext;
  readonly #client: SecretClient;

  constructor(name: string, config: AzureProviderConfig, ctx: ProviderContext, credential: TokenCredential) {
    this.name = name;
    this.#config = config;
    this.#ctx = ctx;
    const ca = readCaFile(name, config, ctx.baseDir);
    this.#client = new SecretClient(config.vaultUrl, credential, {
      ...(config.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
      // a private CA replaces the public ones for this vault only
      ...(ca ? { tlsOptions: { ca } } : {}),
      // the SDK retries 429/5xx up to 3 times with backoff by default; our
      // scheduler retries and reports each failure instead
      retryOptions: { maxRetries: 0 },
      userAgentOptions: { userAgentPrefix: 'erlmcp-secrets' },
    });
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue> {
    const spec = this.#spec(ref);
    const call = this.#callContext(ref, spec);
    let secret;
    try {
      secret = await this.#client.getSecret(spec.name, { ...(spec.version ? { version: spec.version } : {}), abortSignal: signal });
    } catch (e) {
      throw mapAzureError(e, call);
    }
    const props = secret.properties;
    const version = props.version ?? versionFromId(props.id);
    const now = this.#ctx.now();
    // Key Vault returns expired and not-yet-valid secrets; their attributes
    // say they must not be used, so we refuse them with their own message
    if (props.expiresOn && props.expiresOn.getTime() <= now) throw expired(call, props.expiresOn, spec.version);
    if (props.notBefore && props.notBefore.getTime() > now) throw notYetValid(call, props.notBefore, spec.version);
    if (typeof secret.value !== 'string') throw emptyValue(call);
    const result = secretValueToData(secret.value, { contentType: props.contentType, json: spec.json });
    if (!result.ok) throw notJsonObject(call);
    registerSecretData(result.data);
    this.#ctx.logger.debug({ provider: this.name, secret: ref.name, version, keys: Object.keys(result.data).length }, 'azure secret fetched');
    // attributes.updated: when this version was set, the rotation-age policy's clock
    const created = versionTime(props.updatedOn ?? props.createdOn, now);
    if (created.problem) this.#ctx.logger.warn({ provider: this.name, secret: ref.name, problem: created.problem }, `azure answered with an updated time out of bounds: ${created.problem}; the secret's age is unknown`);
    return { data: result.data, ...(version ? { version } : {}), ...(created.at !== undefined ? { createdAt: created.at } : {}) };
  }

  describe(ref: SecretRef): string {
    const spec = this.#spec(ref);
    return `azure secret "${spec.name}"${spec.version ? ` version ${spec.version}` : ''} in ${this.#config.vaultUrl}`;
  }

  async close(): Promise<void> {
    // SecretClient holds no sockets of its own beyond Node's shared agent
  }

  #spec(ref: SecretRef): AzureSecretSpec {
    const parsed = secretSpecSchema.safeParse(ref.spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `secrets.${ref.name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
      throw new AgentError('config', `azure provider "${this.name}": invalid secret "${ref.name}": ${problems.join('; ')}`, { where: `secrets.${ref.name}`, problems });
    }
    return parsed.data;
  }

  #callContext(ref: SecretRef, spec: AzureSecretSpec): AzureCallContext {
    return { provider: this.name, secret: ref.name, vaultUrl: this.#config.vaultUrl, secretName: spec.name, version: spec.version, credentialType: this.#config.credential.type };
  }
}
