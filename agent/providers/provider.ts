// The one interface every backend implements (modelled on consul-template's
// dependency package). A provider fetches; it never renders, writes or logs values.

import type { Logger } from '../log/logger.ts';

/** A declared secret as a provider sees it: its name in the config and the
 * provider-specific fields (vault `path`, aws `id`, azure/gcp `name`, ...),
 * already validated by the provider's own schema. */
export interface SecretRef {
  /** the secret's name in `secrets:` (the template namespace) */
  name: string;
  /** provider-specific, validated by the provider's secretSchema */
  spec: Record<string, unknown>;
}

export interface Lease {
  id: string;
  ttlSeconds: number;
  renewable: boolean;
  /** epoch ms when this lease was obtained or last renewed */
  obtainedAt: number;
}

export interface SecretValue {
  /** key -> value: what templates see as {{name.key}} */
  data: Record<string, string>;
  /** backend version (KV v2 version, AWS VersionId, ...), for change detection and audit */
  version?: string;
  /** present for leased (dynamic) secrets */
  lease?: Lease;
  /** present for values issued on write (a certificate): re-issued, not renewed */
  issued?: IssuedWindow;
  /** epoch ms when the backend says this version was made (KV v2 created_time,
   * AWS CreatedDate, Azure updated), checked by version-time.ts: the
   * rotation-age policy's clock */
  createdAt?: number;
}

/** what an issued value is good for: it is issued again at `fraction` of from..until */
export interface IssuedWindow {
  /** epoch ms: the certificate's NotBefore, or when it was issued */
  from: number;
  /** epoch ms: the certificate's NotAfter, or from + lease_duration */
  until: number;
  fraction: number;
  basis: 'certificate' | 'lease_duration';
}

/** a provider's own login token, as a lease (timing.ts nextTokenAction) */
export interface ProviderTokenInfo {
  /** TTL granted at obtainedAt (0: never expires) */
  ttlSeconds: number;
  renewable: boolean;
  /** epoch ms of the login or last renewal */
  obtainedAt: number;
  /** the TTL the login granted: a renewal that comes back shorter hit the max TTL */
  requestedTtlSeconds?: number;
}

export interface ProviderContext {
  logger: Logger;
  /** directory of the config file: relative paths in provider config resolve here */
  baseDir: string;
  /** epoch ms; injectable so tests control time */
  now(): number;
  /** a provider calls this when values it handed out are no longer good
   * (e.g. the Vault token was replaced, so leases obtained under it will be revoked) */
  invalidate?(reason: string, secretNames?: string[]): void;
}

export interface Provider {
  readonly type: string;
  /** the provider's name in `providers:` */
  readonly name: string;
  /** read one secret. Throws AgentError: missing | auth | unavailable (retryable) */
  fetch(ref: SecretRef, signal: AbortSignal): Promise<SecretValue>;
  /** cheap check whether `known` is still current (KV v2 metadata, DescribeSecret, ...).
   * Absent: the scheduler calls fetch and compares. */
  changed?(ref: SecretRef, known: SecretValue, signal: AbortSignal): Promise<boolean>;
  /** true when fetch() creates what it returns (a certificate issued on write)
   * rather than reading it: `plan` leaves such secrets alone */
  issues?(ref: SecretRef): boolean;
  /** extend a lease; returns the value with the renewed lease (ttl may come back capped) */
  renew?(ref: SecretRef, value: SecretValue, signal: AbortSignal): Promise<SecretValue>;
  /** give a lease back (optional revoke on shutdown) */
  revoke?(value: SecretValue): Promise<void>;
  /** push notification of changes (file watcher); returns an unsubscribe function */
  watch?(ref: SecretRef, onChange: () => void): () => void;
  /** providers that hold a login token of their own (Vault): its lifecycle,
   * driven by the sidecar (renew before expiry, log in again when renewing no
   * longer extends it). relogin() reports leases obtained under the old token
   * through ProviderContext.invalidate. */
  tokenInfo?(): ProviderTokenInfo | undefined;
  renewToken?(signal?: AbortSignal): Promise<ProviderTokenInfo>;
  relogin?(signal?: AbortSignal): Promise<ProviderTokenInfo>;
  /** when the current version was made, for a backend whose read does not
   * say (GCP's version metadata, a file's mtime): asked only for secrets with
   * a maxAge. Epoch ms checked by version-time.ts, or undefined. */
  versionCreatedAt?(ref: SecretRef, value: SecretValue, signal: AbortSignal): Promise<number | undefined>;
  /** a one-line human description of ref for logs and reports, never a value */
  describe(ref: SecretRef): string;
  close(): Promise<void>;
}

/** What a provider module exports; loaded lazily so unused SDKs cost nothing. */
export interface ProviderModule {
  create(name: string, config: Record<string, unknown>, ctx: ProviderContext): Promise<Provider>;
}
