// Google Secret Manager over gRPC. Credentials are application default
// credentials (GKE Workload Identity, GOOGLE_APPLICATION_CREDENTIALS, the
// metadata server). One AccessSecretVersion (billed) per fetch; changed()
// asks GetSecretVersion (metadata only, no access billed) which version
// `latest` or an alias resolves to, so an unchanged secret costs no access.

import { abortable as abortableWait } from '../abortable.ts';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { grpc } from 'google-gax';
import { AgentError } from '../../errors.ts';
import { registerSecretData } from '../../log/secret-registry.ts';
import type { Provider, ProviderContext, SecretRef, SecretValue } from '../provider.ts';
import { crc32c } from './crc32c.ts';
import { checksumMismatch, mapGcpError, payloadProblem, versionNotUsable, type GcpCallContext } from './errors.ts';
import { payloadToData } from './payload.ts';
import { parseSecretVersionName, secretVersionName } from './resource-names.ts';
import { providerConfigSchema, secretSpecSchema, type GcpProviderConfig, type GcpSecretSpec } from './schema.ts';
import { timestampMs, versionTime } from '../version-time.ts';

const DEFAULT_ENDPOINT = 'secretmanager.googleapis.com:443';
const CALL_TIMEOUT_MS = 15_000;
// google-gax retries UNAVAILABLE and RESOURCE_EXHAUSTED for up to a minute by
// default; our scheduler retries and reports instead, so no retry codes here.
const CALL_OPTIONS = { timeout: CALL_TIMEOUT_MS, retry: { retryCodes: [] as number[] } };

export async function create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<Provider> {
  const parsed = providerConfigSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `providers.${name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
    throw new AgentError('config', `gcp provider "${name}": invalid config: ${problems.join('; ')}`, { where: `providers.${name}`, problems });
  }
  return new GcpProvider(name, parsed.data, ctx);
}

type Cancellable<T> = Promise<T> & { cancel?: () => void };

class GcpProvider implements Provider {
  readonly type = 'gcp';
  readonly name: string;
  readonly #config: GcpProviderConfig;
  readonly #ctx: ProviderContext;
  readonly #clientOptions: ConstructorParameters<typeof SecretManagerServiceClient>[0] & {};
  #client: Promise<SecretManagerServiceClient> | undefined;
  #warnedNoGetPermission = false;

  constructor(name: string, config: GcpProviderConfig, ctx: ProviderContext) {
    this.name = name;
    this.#config = config;
    this.#ctx = ctx;
    const options: ConstructorParameters<typeof SecretManagerServiceClient>[0] & {} = {};
    if (config.endpoint) {
      const i = config.endpoint.lastIndexOf(':');
      options.apiEndpoint = config.endpoint.slice(0, i).replace(/^\[|\]$/g, '');
      options.port = Number(config.endpoint.slice(i + 1));
    }
    // plaintext and no credentials: gax sends no token when sslCreds is given
    if (config.insecure) {
      options.sslCreds = grpc.credentials.createInsecure();
      // without this google-gax asks google-auth for the universe domain, which
      // looks for credentials and pings the GCE metadata server (169.254.169.254)
      options.universeDomain = 'googleapis.com';
    }
    this.#clientOptions = options;
  }

  // The generated client starts its stub (which resolves the credentials) on
  // the first call, and rethrows a failure there from a promise nobody
  // awaits: an unhandled rejection that would end the agent. So the stub is
  // started here and its failure reported as ours; a client whose stub
  // failed is dropped, so credentials that appear later (a token file
  // mounted late) are picked up on the next try.
  #ready(call: GcpCallContext): Promise<SecretManagerServiceClient> {
    // concurrent first fetches share one client
    this.#client ??= this.#start().catch((e: unknown) => {
      this.#client = undefined;
      throw e;
    });
    return this.#client.catch((e: unknown) => {
      throw mapGcpError(e, call);
    });
  }

  async #start(): Promise<SecretManagerServiceClient> {
    const client = new SecretManagerServiceClient(this.#clientOptions);
    try {
      await client.initialize();
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    return client;
  }

  async fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue> {
    const spec = this.#spec(ref);
    const call = this.#callContext(ref, spec, 'secretmanager.versions.access');
    const client = await this.#ready(call);
    let response;
    try {
      [response] = await abortable(client.accessSecretVersion({ name: this.#resource(spec) }, CALL_OPTIONS) as Cancellable<[{ name?: string | null; payload?: { data?: Uint8Array | string | null; dataCrc32c?: unknown } | null }, unknown, unknown]>, signal);
    } catch (e) {
      throw mapGcpError(e, call);
    }
    const resolved = parseSecretVersionName(response.name ?? '')?.version ?? spec.version ?? 'latest';
    const raw = response.payload?.data ?? new Uint8Array();
    const bytes = typeof raw === 'string' ? Buffer.from(raw, 'base64') : raw;
    const expected = checksumOf(response.payload?.dataCrc32c);
    if (expected !== undefined && expected !== crc32c(bytes)) throw checksumMismatch(call, resolved);
    const result = payloadToData(bytes, spec);
    if (!result.ok) throw payloadProblem(call, result.problem);
    registerSecretData(result.data);
    this.#ctx.logger.debug({ provider: this.name, secret: ref.name, version: resolved, keys: Object.keys(result.data).length }, 'gcp secret fetched');
    return { data: result.data, version: resolved };
  }

  async changed(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean> {
    const spec = this.#spec(ref);
    // a version number names immutable data; `latest` and aliases can move
    if (spec.version !== undefined && /^\d+$/.test(spec.version)) return false;
    const call = this.#callContext(ref, spec, 'secretmanager.versions.get');
    const client = await this.#ready(call);
    let version;
    try {
      [version] = await abortable(client.getSecretVersion({ name: this.#resource(spec) }, CALL_OPTIONS) as Cancellable<[{ name?: string | null; state?: unknown }, unknown, unknown]>, signal);
    } catch (e) {
      const mapped = mapGcpError(e, call);
      // secretAccessor alone grants versions.access but not versions.get: fall
      // back to a full fetch rather than failing, and say how to save the cost
      if (mapped.code === 'auth' && (e as { code?: unknown }).code === 7) {
        if (!this.#warnedNoGetPermission) {
          this.#warnedNoGetPermission = true;
          this.#ctx.logger.warn({ provider: this.name, secret: ref.name }, 'gcp: no secretmanager.versions.get permission; change checks fall back to reading the value (billed). Grant roles/secretmanager.viewer to check cheaply');
        }
        return true;
      }
      throw mapped;
    }
    const resolved = parseSecretVersionName(version.name ?? '')?.version;
    const state = stateOf(version.state);
    if (state === 'DISABLED' || state === 'DESTROYED') throw versionNotUsable(call, state, resolved);
    return resolved === undefined || resolved !== known.version;
  }

  /** the accessed version's createTime (versions.get, not billed as an access): AccessSecretVersion does not say */
  async versionCreatedAt(ref: SecretRef, value: SecretValue, signal: AbortSignal): Promise<number | undefined> {
    const spec = this.#spec(ref);
    // the version the value came from, not whatever `latest` names by now
    const pinned = value.version !== undefined && /^\d+$/.test(value.version) ? { ...spec, version: value.version } : spec;
    const call = this.#callContext(ref, pinned, 'secretmanager.versions.get');
    const client = await this.#ready(call);
    let version;
    try {
      [version] = await abortable(client.getSecretVersion({ name: this.#resource(pinned) }, CALL_OPTIONS) as Cancellable<[{ createTime?: unknown }, unknown, unknown]>, signal);
    } catch (e) {
      throw mapGcpError(e, call);
    }
    const created = versionTime(timestampMs(version.createTime), this.#ctx.now());
    if (created.problem) this.#ctx.logger.warn({ provider: this.name, secret: ref.name, problem: created.problem }, `gcp answered GetSecretVersion with a createTime out of bounds: ${created.problem}; the secret's age is unknown`);
    return created.at;
  }

  describe(ref: SecretRef): string {
    const spec = this.#spec(ref);
    return `gcp secret ${this.#resource(spec)}`;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.then((c) => c.close()).catch(() => {});
  }

  #resource(spec: GcpSecretSpec): string {
    return secretVersionName(this.#config.project, spec.name, spec.version ?? 'latest');
  }

  #spec(ref: SecretRef): GcpSecretSpec {
    const parsed = secretSpecSchema.safeParse(ref.spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `secrets.${ref.name}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
      throw new AgentError('config', `gcp provider "${this.name}": invalid secret "${ref.name}": ${problems.join('; ')}`, { where: `secrets.${ref.name}`, problems });
    }
    return parsed.data;
  }

  #callContext(ref: SecretRef, spec: GcpSecretSpec, permission: GcpCallContext['permission']): GcpCallContext {
    const project = /^projects\/([^/]+)\//.exec(spec.name)?.[1] ?? this.#config.project;
    return { provider: this.name, secret: ref.name, project, secretName: spec.name, version: spec.version ?? 'latest', permission, endpoint: this.#config.endpoint ?? DEFAULT_ENDPOINT };
  }
}

/** payload.data_crc32c arrives as a number, a decimal string or a Long, or is
 * absent. A CRC32C is a whole number below 2^32: anything else present (1e999,
 * -1, 1.5, "soon") is NaN, which matches no checksum, so the payload is
 * refused rather than taken unchecked. */
function checksumOf(v: unknown): number | undefined {
  if (v === null || v === undefined) return undefined;
  const n = Number(typeof v === 'object' ? String(v) : v);
  return Number.isInteger(n) && n >= 0 && n < 2 ** 32 ? n : Number.NaN;
}

const STATES = ['STATE_UNSPECIFIED', 'ENABLED', 'DISABLED', 'DESTROYED'];
function stateOf(v: unknown): string | undefined {
  if (typeof v === 'number') return STATES[v];
  return typeof v === 'string' ? v : undefined;
}

function abortable<T>(p: Cancellable<T>, signal: AbortSignal): Promise<T> {
  return abortableWait(p, signal, { cancel: () => p.cancel?.(), error: () => Object.assign(new Error('aborted'), { name: 'AbortError' }) });
}
