// AWS Secrets Manager. Credentials come from the SDK's default chain, so IRSA
// (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), EKS Pod Identity, AWS_* keys
// and profiles work with no extra config. One GetSecretValue (billed) per
// fetch; changed() asks DescribeSecret (not billed per value read) whether
// the stage moved, so an unchanged secret costs no GetSecretValue at all.

import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AgentError } from '../../errors.ts';
import { registerSecretData } from '../../log/secret-registry.ts';
import type { Provider, ProviderContext, SecretRef, SecretValue } from '../provider.ts';
import { emptySecret, mapAwsError, scheduledForDeletion, stageNotFound, type AwsCallContext } from './errors.ts';
import { DEFAULT_STAGE, providerConfigSchema, secretSpecSchema, type AwsProviderConfig, type AwsSecretSpec } from './schema.ts';
import { secretBinaryToData, secretStringToData } from './secret-data.ts';
import { versionTime } from '../version-time.ts';

// Our scheduler retries with backoff and reports each failure; the SDK's own
// retries (3 attempts with backoff by default) would hide throttling and
// outages behind seconds of silence. Timeouts keep a dead endpoint from
// holding a fetch until the init timeout.
const MAX_ATTEMPTS = 1;
const CONNECT_TIMEOUT_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

export async function create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<Provider> {
  const parsed = providerConfigSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `providers.${name}.${i.path.join('.')}: ${i.message}`);
    throw new AgentError('config', `aws provider "${name}": invalid config: ${problems.join('; ')}`, { where: `providers.${name}`, problems });
  }
  return new AwsProvider(name, parsed.data, ctx);
}

class AwsProvider implements Provider {
  readonly type = 'aws';
  readonly name: string;
  readonly #config: AwsProviderConfig;
  readonly #ctx: ProviderContext;
  readonly #client: SecretsManagerClient;

  constructor(name: string, config: AwsProviderConfig, ctx: ProviderContext) {
    this.name = name;
    this.#config = config;
    this.#ctx = ctx;
    this.#client = new SecretsManagerClient({
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      maxAttempts: MAX_ATTEMPTS,
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
    });
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue> {
    const spec = this.#spec(ref);
    const call = this.#callContext(ref, spec, 'secretsmanager:GetSecretValue');
    const input = spec.versionId ? { SecretId: spec.id, VersionId: spec.versionId } : { SecretId: spec.id, VersionStage: spec.versionStage ?? DEFAULT_STAGE };
    let out;
    try {
      out = await this.#client.send(new GetSecretValueCommand(input), { abortSignal: signal });
    } catch (e) {
      throw mapAwsError(e, call);
    }
    let data: Record<string, string>;
    if (typeof out.SecretString === 'string') data = secretStringToData(out.SecretString);
    else if (out.SecretBinary) data = secretBinaryToData(out.SecretBinary);
    else throw emptySecret(call);
    registerSecretData(data);
    this.#ctx.logger.debug({ provider: this.name, secret: ref.name, version: out.VersionId, keys: Object.keys(data).length }, 'aws secret fetched');
    // CreatedDate: when this version was made, the rotation-age policy's clock
    const created = versionTime(out.CreatedDate, this.#ctx.now());
    if (created.problem) this.#ctx.logger.warn({ provider: this.name, secret: ref.name, problem: created.problem }, `aws answered GetSecretValue with a CreatedDate out of bounds: ${created.problem}; the secret's age is unknown`);
    return { data, ...(out.VersionId ? { version: out.VersionId } : {}), ...(created.at !== undefined ? { createdAt: created.at } : {}) };
  }

  async changed(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean> {
    const spec = this.#spec(ref);
    // a version id names immutable content
    if (spec.versionId) return false;
    const call = this.#callContext(ref, spec, 'secretsmanager:DescribeSecret');
    let out;
    try {
      out = await this.#client.send(new DescribeSecretCommand({ SecretId: spec.id }), { abortSignal: signal });
    } catch (e) {
      throw mapAwsError(e, call);
    }
    if (out.DeletedDate) throw scheduledForDeletion(call, out.DeletedDate);
    const stage = spec.versionStage ?? DEFAULT_STAGE;
    const current = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes(stage))?.[0];
    if (current === undefined) throw stageNotFound(call);
    return current !== known.version;
  }

  describe(ref: SecretRef): string {
    const spec = this.#spec(ref);
    return `aws secret "${spec.id}" (${selectorOf(spec)}) in ${this.#config.region}`;
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  #spec(ref: SecretRef): AwsSecretSpec {
    const parsed = secretSpecSchema.safeParse(ref.spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `secrets.${ref.name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
      throw new AgentError('config', `aws provider "${this.name}": invalid secret "${ref.name}": ${problems.join('; ')}`, { where: `secrets.${ref.name}`, problems });
    }
    return parsed.data;
  }

  #callContext(ref: SecretRef, spec: AwsSecretSpec, action: string): AwsCallContext {
    return { provider: this.name, secret: ref.name, region: this.#config.region, endpoint: this.#config.endpoint, secretId: spec.id, selector: selectorOf(spec), action };
  }
}

function selectorOf(spec: AwsSecretSpec): string {
  return spec.versionId ? `version ${spec.versionId}` : `stage ${spec.versionStage ?? DEFAULT_STAGE}`;
}
