// Reading Vault's answers. Pure. The secret path is the API path, so the kind
// of engine is told by the response shape: KV v2 wraps the value in
// data.data with data.metadata, a dynamic secret carries a lease_id, KV v1
// (and anything else) returns the value as data.

import { leaseSeconds, positiveVersion } from '../backend-numbers.ts';
import { toKeyMap } from '../key-map.ts';
import { versionTime } from '../version-time.ts';

import type { SecretValue } from '../provider.ts';

interface KvV2Metadata {
  /** undefined when Vault sent no usable version (not an integer >= 1) */
  version: number | undefined;
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
}

export interface KvV2Tombstone {
  version: number;
  deletionTime: string;
  destroyed: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kvV2Metadata(v: unknown): KvV2Metadata | undefined {
  if (!isObject(v) || !('version' in v) || typeof v.created_time !== 'string') return undefined;
  return {
    version: positiveVersion(v.version),
    created_time: v.created_time,
    deletion_time: typeof v.deletion_time === 'string' ? v.deletion_time : '',
    destroyed: v.destroyed === true,
  };
}

/** { data: { data: {...} | null, metadata: { version, created_time, ... } } } */
function kvV2Parts(body: unknown): { data: unknown; metadata: KvV2Metadata } | undefined {
  const outer = isObject(body) ? body.data : undefined;
  if (!isObject(outer) || !('data' in outer)) return undefined;
  const metadata = kvV2Metadata(outer.metadata);
  if (!metadata || !(outer.data === null || isObject(outer.data))) return undefined;
  return { data: outer.data, metadata };
}

/** a 404 for a soft-deleted or destroyed KV v2 version: the envelope with data: null */
export function kvV2Tombstone(body: unknown): KvV2Tombstone | undefined {
  const parts = kvV2Parts(body);
  if (!parts || parts.data !== null) return undefined;
  const m = parts.metadata;
  if (m.version === undefined || (!m.destroyed && m.deletion_time === '')) return undefined;
  return { version: m.version, deletionTime: m.deletion_time, destroyed: m.destroyed };
}

/** templates see strings: anything else is JSON text */
export const stringifyValues = toKeyMap;

/**
 * a 2xx read -> SecretValue; undefined when the body holds no data object.
 * Throws (validation) when a value is nested too deep to be a secret.
 * `what` names the answer in errors; `onProblem` hears of numbers that were
 * out of bounds and replaced (backend-numbers.ts), to log them.
 */
export function toSecretValue(body: unknown, now: number, what = 'vault', onProblem: (problem: string) => void = () => {}): SecretValue | undefined {
  if (!isObject(body)) return undefined;
  const v2 = kvV2Parts(body);
  if (v2) {
    if (!isObject(v2.data)) return undefined;
    const data = stringifyValues(v2.data, what);
    const version = v2.metadata.version;
    if (version === undefined) onProblem('metadata.version is not a whole number >= 1; changes are checked by full reads');
    // the version's created_time: the rotation-age policy's clock
    const created = versionTime(v2.metadata.created_time, now);
    if (created.problem) onProblem(`metadata.created_time ${created.problem}; the secret's age is unknown`);
    return { data, ...(version !== undefined ? { version: String(version) } : {}), ...(created.at !== undefined ? { createdAt: created.at } : {}) };
  }
  if (!isObject(body.data)) return undefined;
  const value: SecretValue = { data: stringifyValues(body.data, what) };
  if (typeof body.lease_id === 'string' && body.lease_id !== '') {
    const ttl = leaseSeconds(body.lease_duration);
    if (ttl.problem) onProblem(`lease_duration ${ttl.problem}`);
    value.lease = { id: body.lease_id, ttlSeconds: ttl.seconds, renewable: body.renewable === true, obtainedAt: now };
  }
  return value;
}

/**
 * KV v2 metadata lives beside data: secret/data/app -> secret/metadata/app.
 * The mount is not known, so the first `data` segment after the first
 * segment is taken as the one after the mount (a mount whose own path has a
 * `data` segment past its first is the one case this gets wrong).
 */
export function kvV2MetadataPath(dataPath: string): string | undefined {
  const segs = dataPath.split('/');
  const i = segs.indexOf('data', 1);
  if (i === -1 || i === segs.length - 1) return undefined;
  segs[i] = 'metadata';
  return segs.join('/');
}

export interface KvV2VersionState {
  currentVersion: number;
  /** a version is gone when soft-deleted or destroyed (or never existed) */
  gone(version: number): boolean;
}

/**
 * A version's deletion_time is when it is (or was) deleted: a soft delete
 * sets it to the moment of deletion, while delete_version_after gives every
 * live version one in the future. Only a time already past means deleted;
 * a time that does not parse is taken as deleted, as before.
 */
export function deletedBy(deletionTime: unknown, now: number): boolean {
  if (typeof deletionTime !== 'string' || deletionTime === '') return false;
  const at = Date.parse(deletionTime);
  return Number.isNaN(at) || at <= now;
}

/** from a metadata read: the current version and which versions are gone at `now` */
export function kvV2VersionState(body: unknown, now: number): KvV2VersionState | undefined {
  const d = isObject(body) ? body.data : undefined;
  const current = isObject(d) ? positiveVersion(d.current_version) : undefined;
  if (!isObject(d) || current === undefined) return undefined;
  const versions = isObject(d.versions) ? d.versions : {};
  return {
    currentVersion: current,
    gone(version) {
      const v = versions[String(version)];
      if (!isObject(v)) return true;
      return v.destroyed === true || deletedBy(v.deletion_time, now);
    },
  };
}

export interface LeaseRenewal {
  ttlSeconds: number;
  renewable: boolean;
  /** lease_duration was out of bounds and replaced (backend-numbers.ts) */
  problem?: string;
}

/** undefined when the answer has no lease_duration at all */
export function leaseRenewal(body: unknown): LeaseRenewal | undefined {
  if (!isObject(body) || !('lease_duration' in body)) return undefined;
  const ttl = leaseSeconds(body.lease_duration);
  return { ttlSeconds: ttl.seconds, renewable: body.renewable === true, ...(ttl.problem ? { problem: `lease_duration ${ttl.problem}` } : {}) };
}
