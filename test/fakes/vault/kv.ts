// KV secrets engines, version 1 (one value per path) and version 2
// (versions, soft delete, destroy, check-and-set, metadata), with the exact
// status codes and bodies of the Vault HTTP API.

import type { Engine, EngineRequest } from './engine.ts';
import { type FakeResponse, NO_CONTENT, badRequest, envelope, errors, iso, notFound, ok, unsupported } from './wire.ts';

const KV1_TTL = 2764800; // KV v1 reports the mount's default lease TTL (768h)

export class KvV1 implements Engine {
  readonly #data = new Map<string, Record<string, unknown>>();

  put(path: string, data: Record<string, unknown>): void {
    this.#data.set(path, structuredClone(data));
  }

  remove(path: string): void {
    this.#data.delete(path);
  }

  handle(req: EngineRequest): FakeResponse {
    switch (req.method) {
      case 'GET': {
        const d = this.#data.get(req.rest);
        return d ? ok({ data: structuredClone(d), lease_duration: KV1_TTL, mount_type: 'kv' }) : notFound();
      }
      case 'PUT':
      case 'POST':
        this.put(req.rest, req.body);
        return NO_CONTENT;
      case 'DELETE':
        this.#data.delete(req.rest);
        return NO_CONTENT;
      case 'LIST': {
        const prefix = req.rest === '' || req.rest.endsWith('/') ? req.rest : `${req.rest}/`;
        const keys = new Set<string>();
        for (const k of this.#data.keys()) {
          if (!k.startsWith(prefix)) continue;
          const tail = k.slice(prefix.length);
          const slash = tail.indexOf('/');
          keys.add(slash === -1 ? tail : tail.slice(0, slash + 1));
        }
        return keys.size ? ok({ data: { keys: [...keys].sort() }, mount_type: 'kv' }) : notFound();
      }
      default:
        return unsupported();
    }
  }
}

interface Version {
  data: Record<string, unknown>;
  createdAt: number;
  deletedAt: number | undefined;
  destroyed: boolean;
}

interface Entry {
  versions: Map<number, Version>;
  current: number;
  createdAt: number;
  updatedAt: number;
  /** metadata's delete_version_after, ms (0: never): each new version gets a deletion time that far ahead */
  deleteAfterMs: number;
}

export interface KvV2Write {
  version: number;
}

export class KvV2 implements Engine {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** writes a new version, honouring `cas` like the API; returns the version or an error text */
  put(path: string, data: Record<string, unknown>, cas?: number): KvV2Write | string {
    const now = this.#now();
    const entry = this.#entries.get(path);
    const current = entry?.current ?? 0;
    if (cas !== undefined && cas !== current) return 'check-and-set parameter did not match the current version';
    const e: Entry = entry ?? this.#newEntry(now);
    e.current = current + 1;
    e.updatedAt = now;
    // as Vault does: a live version carries its future deletion time
    e.versions.set(e.current, { data: structuredClone(data), createdAt: now, deletedAt: e.deleteAfterMs > 0 ? now + e.deleteAfterMs : undefined, destroyed: false });
    this.#entries.set(path, e);
    return { version: e.current };
  }

  #newEntry(now: number): Entry {
    return { versions: new Map(), current: 0, createdAt: now, updatedAt: now, deleteAfterMs: 0 };
  }

  /** a version is deleted once its deletion time has come (a soft delete sets it to now) */
  #deleted(v: Version): boolean {
    return v.deletedAt !== undefined && v.deletedAt <= this.#now();
  }

  /** metadata's delete_version_after, in seconds; applies to versions written from now on, as in Vault */
  setDeleteVersionAfter(path: string, seconds: number): void {
    const now = this.#now();
    const e = this.#entries.get(path) ?? this.#newEntry(now);
    e.deleteAfterMs = seconds * 1000;
    this.#entries.set(path, e);
  }

  /** soft delete; no versions = the latest */
  softDelete(path: string, versions?: number[]): void {
    const e = this.#entries.get(path);
    if (!e) return;
    for (const v of versions ?? [e.current]) {
      const ver = e.versions.get(v);
      if (ver && !ver.destroyed && !this.#deleted(ver)) ver.deletedAt = this.#now();
    }
  }

  undelete(path: string, versions: number[]): void {
    const e = this.#entries.get(path);
    for (const v of versions) {
      const ver = e?.versions.get(v);
      if (ver && !ver.destroyed) ver.deletedAt = undefined;
    }
  }

  destroy(path: string, versions: number[]): void {
    const e = this.#entries.get(path);
    for (const v of versions) {
      const ver = e?.versions.get(v);
      if (ver) {
        ver.destroyed = true;
        ver.data = {};
      }
    }
  }

  deleteMetadata(path: string): void {
    this.#entries.delete(path);
  }

  handle(req: EngineRequest): FakeResponse {
    const slash = req.rest.indexOf('/');
    const op = slash === -1 ? req.rest : req.rest.slice(0, slash);
    const path = slash === -1 ? '' : req.rest.slice(slash + 1);
    if (op === 'config') return ok({ data: { cas_required: false, delete_version_after: '0s', max_versions: 0 }, mount_type: 'kv' });
    const listingRoot = op === 'metadata' && req.method === 'LIST';
    if ((path === '' && !listingRoot) || !['data', 'metadata', 'delete', 'undelete', 'destroy'].includes(op)) {
      // what Vault answers when a KV v1 style path hits a v2 mount
      return {
        status: 404,
        body: {
          errors: [],
          warnings: [
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.",
          ],
        },
      };
    }
    switch (`${op} ${req.method}`) {
      case 'data GET':
        return this.#read(path, req.query.get('version'));
      case 'data PUT':
      case 'data POST':
        return this.#write(path, req.body);
      case 'data DELETE':
        this.softDelete(path);
        return NO_CONTENT;
      case 'metadata GET':
        return this.#metadata(path);
      case 'metadata PUT':
      case 'metadata POST': {
        const dva = req.body.delete_version_after;
        if (dva !== undefined) {
          const seconds = typeof dva === 'number' ? dva : parseGoDuration(String(dva));
          if (seconds === undefined) return badRequest('error parsing delete_version_after');
          this.setDeleteVersionAfter(path, seconds);
        }
        return NO_CONTENT;
      }
      case 'metadata DELETE':
        this.deleteMetadata(path);
        return NO_CONTENT;
      case 'metadata LIST':
        return this.#list(path);
      case 'delete PUT':
      case 'delete POST':
      case 'undelete PUT':
      case 'undelete POST':
      case 'destroy PUT':
      case 'destroy POST': {
        const versions = req.body.versions;
        if (!Array.isArray(versions) || versions.length === 0) return badRequest('no version number provided');
        const nums = versions.map(Number);
        if (nums.some((n) => !Number.isInteger(n))) return badRequest('error parsing versions: invalid version number');
        if (op === 'delete') this.softDelete(path, nums);
        else if (op === 'undelete') this.undelete(path, nums);
        else this.destroy(path, nums);
        return NO_CONTENT;
      }
      default:
        return unsupported();
    }
  }

  #versionMetadata(v: Version, n: number): Record<string, unknown> {
    return {
      created_time: iso(v.createdAt),
      custom_metadata: null,
      deletion_time: v.deletedAt === undefined ? '' : iso(v.deletedAt),
      destroyed: v.destroyed,
      version: n,
    };
  }

  #read(path: string, versionParam: string | null): FakeResponse {
    const e = this.#entries.get(path);
    if (!e || e.current === 0) return notFound();
    const wanted = versionParam === null || versionParam === '' ? 0 : Number(versionParam);
    if (!Number.isInteger(wanted) || wanted < 0) return badRequest('invalid version');
    const n = wanted === 0 ? e.current : wanted;
    const v = e.versions.get(n);
    if (!v) return notFound();
    if (this.#deleted(v) || v.destroyed) {
      // soft-deleted or destroyed: 404, but with the data envelope and no `errors`
      return { status: 404, body: envelope({ data: { data: null, metadata: this.#versionMetadata(v, n) }, mount_type: 'kv' }) };
    }
    return ok({ data: { data: structuredClone(v.data), metadata: this.#versionMetadata(v, n) }, mount_type: 'kv' });
  }

  #write(path: string, body: Record<string, unknown>): FakeResponse {
    const data = body.data;
    if (data === undefined || data === null) return badRequest('no data provided');
    if (typeof data !== 'object' || Array.isArray(data)) return badRequest('data must be a JSON object');
    const options = (body.options ?? {}) as Record<string, unknown>;
    const cas = options.cas === undefined ? undefined : Number(options.cas);
    const result = this.put(path, data as Record<string, unknown>, cas);
    if (typeof result === 'string') return badRequest(result);
    const v = this.#entries.get(path)!.versions.get(result.version)!;
    return ok({ data: this.#versionMetadata(v, result.version), mount_type: 'kv' });
  }

  #metadata(path: string): FakeResponse {
    const e = this.#entries.get(path);
    if (!e || e.current === 0) return notFound();
    const versions: Record<string, unknown> = {};
    for (const [n, v] of e.versions) {
      versions[String(n)] = { created_time: iso(v.createdAt), deletion_time: v.deletedAt === undefined ? '' : iso(v.deletedAt), destroyed: v.destroyed };
    }
    return ok({
      data: {
        cas_required: false,
        created_time: iso(e.createdAt),
        current_version: e.current,
        custom_metadata: null,
        delete_version_after: `${e.deleteAfterMs / 1000}s`,
        max_versions: 0,
        oldest_version: 0,
        updated_time: iso(e.updatedAt),
        versions,
      },
      mount_type: 'kv',
    });
  }

  #list(path: string): FakeResponse {
    const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
    const keys = new Set<string>();
    for (const k of this.#entries.keys()) {
      if (!k.startsWith(prefix)) continue;
      const tail = k.slice(prefix.length);
      const slash = tail.indexOf('/');
      keys.add(slash === -1 ? tail : tail.slice(0, slash + 1));
    }
    return keys.size ? ok({ data: { keys: [...keys].sort() }, mount_type: 'kv' }) : errors(404);
  }
}

/** "1h", "90s", "1h30m" (Go durations, as Vault takes them) -> seconds */
function parseGoDuration(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const units: Record<string, number> = { h: 3600, m: 60, s: 1 };
  let total = 0;
  const re = /(\d+)([hms])/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text))) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === text.length && text !== '' ? total : undefined;
}
