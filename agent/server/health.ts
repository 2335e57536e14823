// What /readyz reports: has the first render happened, is every file written,
// and is every value still valid. The sidecar marks
// events; the answer is computed on demand from the injected clock, so a
// secret goes stale by time passing alone, with nobody marking it.
//
//   health.markRendered()                      first render done
//   health.markFresh('db', at, ttlMs, leaseEndsAt?)  refreshed at `at`; fresh for ttlMs
//   health.markError('db', err)                a refresh failed (code and time only)
//   health.markOutput('/run/x.env', err?)     a file could (not) be written as rendered
//   health.readiness({ fresh? }) -> { ready, rendered, stale: [{ secret, staleSince, expired?, ... }], unwritten?: [...] }
//
// Readiness (docs/fleet.md "Readiness"): a value past its `ttl` (or a lease
// near its end) is stale; stale is reported, but only a value that is no
// longer valid, a lease past its end, makes the pod not ready. A static secret
// stays valid however late its refresh: if a slow or throttling Vault turned
// every pod of a fleet not ready at the same moment, the backend's trouble
// would become a full outage of the service. `fresh: true` (/readyz?fresh)
// is the strict answer, not ready as soon as anything is stale.
//
// Only names, times and error codes are kept: never a value or a message.

import type { ErrorCode } from '../errors.ts';
import { isAgentError } from '../errors.ts';

export interface StaleSecret {
  secret: string;
  /** epoch ms when its TTL ran out */
  staleSince: number;
  /** epoch ms of the last successful refresh */
  lastRefreshAt: number;
  /** the last refresh failure, if any since */
  lastError?: { code: ErrorCode; at: number };
  /** a lease past its end: the value is no longer valid, the pod is not ready */
  expired?: true;
}

/** a rendered file that is not on disk as rendered (the volume is read-only or
 * full, the path is taken by a directory...): the app may read something older */
export interface UnwrittenFile {
  destination: string;
  /** epoch ms of the first failed write in a row */
  since: number;
  code: ErrorCode;
}

/** a secret whose new value was refused (it broke a rule or cannot be written
 * in its file's format): the files keep the last good value, which does not
 * make the pod unready; only the secret's `ttl`, if set, ends that */
export interface RejectedSecret {
  secret: string;
  /** epoch ms of the first refusal in a row */
  since: number;
  code: ErrorCode;
  /** whether a ttl will turn the pod not ready */
  hasTtl: boolean;
}

/** a secret whose backend version is older than its maxAge: reported, never a reason to be unready */
export interface OverdueSecret {
  secret: string;
  ageSeconds: number;
  maxAgeSeconds: number;
  /** epoch ms the backend says the version was made */
  createdAt: number;
}

export interface Readiness {
  ready: boolean;
  rendered: boolean;
  stale: StaleSecret[];
  /** only present when a secret is past its maxAge */
  overdue?: OverdueSecret[];
  /** only present when a new value was refused */
  rejected?: RejectedSecret[];
  /** only present when some file is not written */
  unwritten?: UnwrittenFile[];
}

interface SecretState {
  lastRefreshAt?: number;
  ttlMs?: number;
  leaseEndsAt?: number;
  lastError?: { code: ErrorCode; at: number };
  rejectedSince?: number;
  /** epoch ms the backend's current version was made, when it says */
  createdAt?: number;
  maxAgeMs?: number;
}

/** codes of a refused value (not of a backend that could not be read) */
const REFUSED: ReadonlySet<ErrorCode> = new Set(['validation', 'template', 'missing']);

export class Health {
  private readonly now: () => number;
  private rendered = false;
  private renderedAt: number | undefined;
  private readonly secrets = new Map<string, SecretState>();
  private readonly unwritten = new Map<string, UnwrittenFile>();

  constructor(clock: { now(): number }) {
    this.now = () => clock.now();
  }

  markRendered(at = this.now()): void {
    this.rendered = true;
    this.renderedAt ??= at;
  }

  /** a successful refresh at `at`; the value counts as fresh for ttlMs from
   * then (the secret's `ttl`, or a lease's remaining time; none: never stale),
   * and as valid until leaseEndsAt (none: for good) */
  markFresh(name: string, at = this.now(), ttlMs?: number, leaseEndsAt?: number): void {
    const s = this.state(name);
    s.lastRefreshAt = at;
    s.ttlMs = ttlMs;
    s.leaseEndsAt = leaseEndsAt;
    s.lastError = undefined;
    s.rejectedSince = undefined;
  }

  /** a failed refresh: keeps the error's code only (messages may name paths we
   * do not want on an unauthenticated endpoint; values never reach here) */
  markError(name: string, err: unknown, at = this.now()): void {
    const s = this.state(name);
    s.lastError = { code: isAgentError(err) ? err.code : 'internal', at };
    if (REFUSED.has(s.lastError.code)) s.rejectedSince ??= at;
  }

  /** the outcome of writing (or restoring) a rendered file: an error keeps
   * the pod not ready until a later write of that file succeeds */
  markOutput(destination: string, err?: unknown, at = this.now()): void {
    if (err === undefined) {
      this.unwritten.delete(destination);
      return;
    }
    const since = this.unwritten.get(destination)?.since ?? at;
    this.unwritten.set(destination, { destination, since, code: isAgentError(err) ? err.code : 'internal' });
  }

  /** when the value's version was made (undefined: the backend did not say) and the secret's maxAge, if any */
  markAge(name: string, createdAt: number | undefined, maxAgeMs: number | undefined): void {
    const s = this.state(name);
    s.createdAt = createdAt;
    s.maxAgeMs = maxAgeMs;
  }

  /** every secret whose version time is known: its age now, and maxAge if it has one */
  ages(): Array<{ secret: string; ageSeconds: number; maxAgeSeconds?: number }> {
    const now = this.now();
    const out: Array<{ secret: string; ageSeconds: number; maxAgeSeconds?: number }> = [];
    for (const [secret, s] of this.secrets) {
      if (s.createdAt === undefined) continue;
      out.push({ secret, ageSeconds: Math.max(0, Math.floor((now - s.createdAt) / 1000)), ...(s.maxAgeMs !== undefined ? { maxAgeSeconds: Math.floor(s.maxAgeMs / 1000) } : {}) });
    }
    return out.sort((a, b) => a.secret.localeCompare(b.secret));
  }

  overdue(): OverdueSecret[] {
    const now = this.now();
    const out: OverdueSecret[] = [];
    for (const [secret, s] of this.secrets) {
      if (s.createdAt === undefined || s.maxAgeMs === undefined || now - s.createdAt <= s.maxAgeMs) continue;
      out.push({ secret, ageSeconds: Math.floor((now - s.createdAt) / 1000), maxAgeSeconds: Math.floor(s.maxAgeMs / 1000), createdAt: s.createdAt });
    }
    return out.sort((a, b) => a.secret.localeCompare(b.secret));
  }

  forget(name: string): void {
    this.secrets.delete(name);
  }

  lastRefreshAt(name: string): number | undefined {
    return this.secrets.get(name)?.lastRefreshAt;
  }

  firstRenderAt(): number | undefined {
    return this.renderedAt;
  }

  /** fresh: not ready as soon as any value is stale (the strict answer) */
  readiness(opts: { fresh?: boolean } = {}): Readiness {
    const now = this.now();
    const stale: StaleSecret[] = [];
    for (const [secret, s] of this.secrets) {
      if (s.lastRefreshAt === undefined || s.ttlMs === undefined) continue;
      const staleSince = s.lastRefreshAt + s.ttlMs;
      if (now < staleSince) continue;
      const expired = s.leaseEndsAt !== undefined && now >= s.leaseEndsAt;
      stale.push({ secret, staleSince, lastRefreshAt: s.lastRefreshAt, ...(s.lastError ? { lastError: s.lastError } : {}), ...(expired ? { expired: true as const } : {}) });
    }
    stale.sort((a, b) => a.secret.localeCompare(b.secret));
    const rejected: RejectedSecret[] = [];
    for (const [secret, s] of this.secrets) {
      if (s.rejectedSince !== undefined && s.lastError) rejected.push({ secret, since: s.rejectedSince, code: s.lastError.code, hasTtl: s.ttlMs !== undefined });
    }
    rejected.sort((a, b) => a.secret.localeCompare(b.secret));
    const unwritten = [...this.unwritten.values()].sort((a, b) => a.destination.localeCompare(b.destination));
    const overdue = this.overdue();
    const valid = opts.fresh ? stale.length === 0 : !stale.some((x) => x.expired);
    return {
      ready: this.rendered && valid && unwritten.length === 0,
      rendered: this.rendered,
      stale,
      ...(overdue.length ? { overdue } : {}),
      ...(rejected.length ? { rejected } : {}),
      ...(unwritten.length ? { unwritten } : {}),
    };
  }

  private state(name: string): SecretState {
    let s = this.secrets.get(name);
    if (!s) {
      s = {};
      this.secrets.set(name, s);
    }
    return s;
  }
}
