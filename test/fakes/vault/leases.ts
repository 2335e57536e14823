// Leases and a database-style dynamic secrets engine: fresh credentials per
// read, TTL and max TTL, renew with capping, revoke, lookup, and revocation of
// every lease whose creating token is gone.

import { randomBytes } from 'node:crypto';
import type { Engine, EngineRequest } from './engine.ts';
import type { TokenStore } from './tokens.ts';
import { type FakeResponse, NO_CONTENT, badRequest, cappedWarning, iso, ok, parseTtl, unsupported } from './wire.ts';

export interface DatabaseRole {
  /** seconds */
  ttl: number;
  /** seconds from issue; renewals never go past it */
  maxTtl: number;
  renewable?: boolean;
  /** prefixes so tests can plant recognisable canaries in generated values */
  usernamePrefix?: string;
  passwordPrefix?: string;
}

export interface Lease {
  id: string;
  tokenId: string | undefined;
  issuedAt: number;
  expireAt: number;
  maxExpireAt: number;
  lastRenewal: number | undefined;
  renewable: boolean;
  defaultTtl: number;
  revoked: boolean;
}

export class LeaseManager {
  readonly #leases = new Map<string, Lease>();
  readonly #now: () => number;
  readonly #tokens: TokenStore;

  constructor(now: () => number, tokens: TokenStore) {
    this.#now = now;
    this.#tokens = tokens;
  }

  issue(prefix: string, tokenId: string | undefined, role: DatabaseRole): Lease {
    const now = this.#now();
    const ttl = Math.min(role.ttl, role.maxTtl);
    const lease: Lease = {
      id: `${prefix}/${randomBytes(12).toString('base64url')}`,
      tokenId,
      issuedAt: now,
      expireAt: now + ttl * 1000,
      maxExpireAt: now + role.maxTtl * 1000,
      lastRenewal: undefined,
      renewable: role.renewable ?? true,
      defaultTtl: role.ttl,
      revoked: false,
    };
    this.#leases.set(lease.id, lease);
    return lease;
  }

  /** a lease as Vault's expiration manager would still hold it; undefined once revoked */
  find(id: string): Lease | undefined {
    const lease = this.#leases.get(id);
    if (!lease || lease.revoked) return undefined;
    if (lease.tokenId !== undefined && !this.#tokens.live(lease.tokenId)) {
      // the creating token expired or was revoked: its leases went with it
      lease.revoked = true;
      return undefined;
    }
    return lease;
  }

  all(): Lease[] {
    return [...this.#leases.values()];
  }

  /** what the expiration manager does in the background: revoke what has expired */
  expire(): string[] {
    const now = this.#now();
    const gone: string[] = [];
    for (const l of this.#leases.values()) {
      if (!l.revoked && (now >= l.expireAt || !this.find(l.id))) {
        l.revoked = true;
        gone.push(l.id);
      }
    }
    return gone;
  }

  revoke(id: string): void {
    const l = this.#leases.get(id);
    if (l) l.revoked = true;
  }

  ttlSeconds(l: Lease): number {
    return Math.max(0, Math.floor((l.expireAt - this.#now()) / 1000));
  }

  /** PUT sys/leases/renew */
  handleRenew(body: Record<string, unknown>, pathLeaseId: string): FakeResponse {
    const id = typeof body.lease_id === 'string' && body.lease_id !== '' ? body.lease_id : pathLeaseId;
    if (!id) return badRequest('lease_id must be specified');
    const increment = parseTtl(body.increment);
    if (body.increment !== undefined && increment === undefined) return badRequest('invalid increment');
    const lease = this.find(id);
    // the order of Vault's leaseEntry.renewable() checks
    if (!lease) return badRequest('lease not found');
    const now = this.#now();
    if (now >= lease.expireAt) return badRequest('lease expired');
    if (!lease.renewable) return badRequest('lease is not renewable');
    const requested = increment && increment > 0 ? increment : lease.defaultTtl;
    const remainingMax = Math.max(0, Math.floor((lease.maxExpireAt - now) / 1000));
    const warnings: string[] = [];
    let ttl = requested;
    if (ttl > remainingMax) {
      warnings.push(cappedWarning(requested, remainingMax));
      ttl = remainingMax;
    }
    lease.expireAt = now + ttl * 1000;
    lease.lastRenewal = now;
    return ok({ lease_id: lease.id, renewable: lease.renewable, lease_duration: ttl, warnings: warnings.length ? warnings : null });
  }

  /** PUT sys/leases/revoke: revoking an unknown lease succeeds, as in Vault */
  handleRevoke(body: Record<string, unknown>, pathLeaseId: string): FakeResponse {
    const id = typeof body.lease_id === 'string' && body.lease_id !== '' ? body.lease_id : pathLeaseId;
    if (!id) return badRequest('lease_id must be specified');
    this.revoke(id);
    return NO_CONTENT;
  }

  /** PUT sys/leases/lookup */
  handleLookup(body: Record<string, unknown>): FakeResponse {
    const id = typeof body.lease_id === 'string' ? body.lease_id : '';
    if (!id) return badRequest('missing lease_id');
    const lease = this.find(id);
    if (!lease) return badRequest('invalid lease');
    return ok({
      data: {
        id: lease.id,
        issue_time: iso(lease.issuedAt),
        expire_time: iso(lease.expireAt),
        last_renewal: lease.lastRenewal === undefined ? null : iso(lease.lastRenewal),
        renewable: lease.renewable,
        ttl: this.ttlSeconds(lease),
      },
    });
  }
}

export class DatabaseEngine implements Engine {
  readonly roles = new Map<string, DatabaseRole>();
  readonly #mount: string;
  readonly #leases: LeaseManager;

  constructor(mount: string, leases: LeaseManager) {
    this.#mount = mount;
    this.#leases = leases;
  }

  handle(req: EngineRequest): FakeResponse {
    const m = /^creds\/([^/]+)$/.exec(req.rest);
    if (!m) return req.method === 'GET' ? badRequest(`unsupported path: ${req.rest}`) : unsupported();
    if (req.method !== 'GET') return unsupported();
    const roleName = m[1]!;
    const role = this.roles.get(roleName);
    if (!role) return badRequest(`unknown role: ${roleName}`);
    const lease = this.#leases.issue(`${this.#mount}/creds/${roleName}`, req.token?.id, role);
    const suffix = randomBytes(6).toString('hex');
    return ok({
      lease_id: lease.id,
      renewable: lease.renewable,
      lease_duration: this.#leases.ttlSeconds(lease),
      data: {
        username: `${role.usernamePrefix ?? 'v-token-'}${roleName}-${suffix}`,
        password: `${role.passwordPrefix ?? ''}${randomBytes(15).toString('base64url')}`,
      },
      mount_type: 'database',
    });
  }
}
