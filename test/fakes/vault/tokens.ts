// The token store: service tokens with TTL, explicit max TTL, renewability,
// parent/child revocation, all against the fake's clock.

import { randomBytes } from 'node:crypto';
import { cappedWarning, iso } from './wire.ts';

/** Vault's default system max lease TTL (32 days) */
export const SYSTEM_MAX_TTL = 32 * 24 * 3600;

export interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  namespace: string;
  /** seconds the token was issued with (creation_ttl); 0 = never expires (root) */
  creationTtl: number;
  issuedAt: number;
  /** epoch ms; undefined = no expiry */
  expireAt: number | undefined;
  /** epoch ms; the renewal cap */
  maxExpireAt: number | undefined;
  /** seconds, when the creator set one (0 = the system max applies) */
  explicitMaxTtl: number;
  renewable: boolean;
  revoked: boolean;
  parent: string | undefined;
  displayName: string;
  path: string;
  meta: Record<string, string>;
  lastRenewal: number | undefined;
}

export interface TokenSpec {
  policies?: string[];
  /** seconds; 0 or absent with root policy = non-expiring */
  ttl?: number;
  /** explicit max TTL in seconds; default the system max */
  maxTtl?: number;
  renewable?: boolean;
  namespace?: string;
  parent?: string;
  id?: string;
  displayName?: string;
  path?: string;
  meta?: Record<string, string>;
  noDefaultPolicy?: boolean;
}

export interface RenewOutcome {
  entry: TokenEntry;
  ttl: number;
  warnings: string[];
}

function randomId(prefix: string): string {
  return prefix + randomBytes(18).toString('base64url');
}

export class TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  create(spec: TokenSpec): TokenEntry {
    const now = this.#now();
    const basePolicies = spec.policies ?? [];
    const isRoot = basePolicies.includes('root');
    const policies = isRoot || spec.noDefaultPolicy ? [...basePolicies] : ['default', ...basePolicies.filter((p) => p !== 'default')];
    const ttl = spec.ttl ?? (isRoot ? 0 : 3600);
    const maxTtl = spec.maxTtl ?? SYSTEM_MAX_TTL;
    const effectiveTtl = ttl > 0 ? Math.min(ttl, maxTtl) : 0;
    const entry: TokenEntry = {
      id: spec.id ?? randomId('hvs.'),
      accessor: randomId(''),
      policies,
      namespace: spec.namespace ?? '',
      creationTtl: effectiveTtl,
      issuedAt: now,
      expireAt: effectiveTtl > 0 ? now + effectiveTtl * 1000 : undefined,
      maxExpireAt: effectiveTtl > 0 ? now + maxTtl * 1000 : undefined,
      explicitMaxTtl: spec.maxTtl ?? 0,
      renewable: spec.renewable ?? effectiveTtl > 0,
      revoked: false,
      parent: spec.parent,
      displayName: spec.displayName ?? 'token',
      path: spec.path ?? 'auth/token/create',
      meta: spec.meta ?? {},
      lastRenewal: undefined,
    };
    this.#tokens.set(entry.id, entry);
    return entry;
  }

  /** the entry if the token exists, is not revoked, not expired, and its parents are alive */
  live(id: string | undefined): TokenEntry | undefined {
    if (!id) return undefined;
    const t = this.#tokens.get(id);
    if (!t || t.revoked) return undefined;
    if (t.expireAt !== undefined && this.#now() >= t.expireAt) return undefined;
    if (t.parent !== undefined && !this.live(t.parent)) return undefined;
    return t;
  }

  get(id: string): TokenEntry | undefined {
    return this.#tokens.get(id);
  }

  ttlSeconds(t: TokenEntry): number {
    return t.expireAt === undefined ? 0 : Math.max(0, Math.floor((t.expireAt - this.#now()) / 1000));
  }

  /** revokes the token and, like Vault, every token created under it */
  revoke(id: string): string[] {
    const t = this.#tokens.get(id);
    if (!t) return [];
    t.revoked = true;
    const revoked = [id];
    for (const child of this.#tokens.values()) {
      if (child.parent === id && !child.revoked) revoked.push(...this.revoke(child.id));
    }
    return revoked;
  }

  /** renew-self: increment (or the creation TTL) from now, capped at the max TTL */
  renew(t: TokenEntry, incrementSeconds: number | undefined): RenewOutcome | string {
    if (t.expireAt === undefined) return 'lease is not renewable';
    if (!t.renewable) return 'lease is not renewable';
    const now = this.#now();
    const requested = incrementSeconds && incrementSeconds > 0 ? incrementSeconds : t.creationTtl;
    const remainingMax = Math.max(0, Math.floor(((t.maxExpireAt ?? Infinity) - now) / 1000));
    const warnings: string[] = [];
    let ttl = requested;
    if (ttl > remainingMax) {
      warnings.push(cappedWarning(requested, remainingMax));
      ttl = remainingMax;
    }
    t.expireAt = now + ttl * 1000;
    t.lastRenewal = now;
    return { entry: t, ttl, warnings };
  }

  /** lookup-self's data block */
  describe(t: TokenEntry): Record<string, unknown> {
    return {
      accessor: t.accessor,
      creation_time: Math.floor(t.issuedAt / 1000),
      creation_ttl: t.creationTtl,
      display_name: t.displayName,
      entity_id: '',
      expire_time: t.expireAt === undefined ? null : iso(t.expireAt),
      explicit_max_ttl: t.explicitMaxTtl,
      id: t.id,
      issue_time: iso(t.issuedAt),
      last_renewal: t.lastRenewal === undefined ? undefined : iso(t.lastRenewal),
      meta: t.meta,
      num_uses: 0,
      orphan: t.parent === undefined,
      path: t.path,
      policies: t.policies,
      renewable: t.renewable,
      ttl: this.ttlSeconds(t),
      type: 'service',
      namespace_path: t.namespace ? `${t.namespace}/` : '',
    };
  }

  /** the `auth` block of a login, create or renew response */
  authBlock(t: TokenEntry, ttl: number): Record<string, unknown> {
    return {
      client_token: t.id,
      accessor: t.accessor,
      policies: t.policies,
      token_policies: t.policies,
      metadata: t.meta,
      lease_duration: ttl,
      renewable: t.renewable,
      entity_id: '',
      token_type: 'service',
      orphan: t.parent === undefined,
      mfa_requirement: null,
      num_uses: 0,
    };
  }
}
