// An in-memory Provider for sidecar tests: the test edits `backend` like an
// operator edits Vault; leased secrets get Vault-like leases (renewable,
// capped at a max TTL counted from issue); failures can be queued per secret.

import { AgentError } from '../../agent/errors.ts';
import type { Provider, SecretRef, SecretValue } from '../../agent/providers/provider.ts';

export interface LeasePolicy {
  ttlSeconds: number;
  maxTtlSeconds: number;
  renewable: boolean;
}

interface BackendEntry {
  data: Record<string, string>;
  version: number;
  lease?: LeasePolicy;
}

export class MemoryProvider implements Provider {
  readonly type = 'memory';
  readonly name: string;
  readonly backend = new Map<string, BackendEntry>();
  /** every call, in order, with the time it was made */
  readonly log: Array<{ call: string; at: number }> = [];
  private readonly failures = new Map<string, AgentError[]>();
  private readonly watchers = new Map<string, () => void>();
  private readonly issued = new Map<string, number>();
  private leaseSeq = 0;
  /** while hung: the calls waiting for an answer */
  private held: Array<() => void> | undefined;
  private readonly now: () => number;
  readonly withChanged: boolean;

  constructor(name: string, now: () => number, opts: { withChanged?: boolean; withWatch?: boolean } = {}) {
    this.name = name;
    this.now = now;
    this.withChanged = opts.withChanged ?? true;
    if (!this.withChanged) this.changed = undefined;
    if (!opts.withWatch) this.watch = undefined;
  }

  /** every call, in order: "fetch:db", "changed:db", "renew:dbcreds" */
  get calls(): string[] {
    return this.log.map((l) => l.call);
  }

  /** set a secret's data in the backend (bumps its version) */
  put(name: string, data: Record<string, string>, lease?: LeasePolicy): void {
    const prev = this.backend.get(name);
    this.backend.set(name, { data: { ...data }, version: (prev?.version ?? 0) + 1, lease: lease ?? prev?.lease });
  }

  /** the next call for `name` throws err */
  failNext(name: string, err: AgentError, times = 1): void {
    const q = this.failures.get(name) ?? [];
    for (let i = 0; i < times; i++) q.push(err);
    this.failures.set(name, q);
  }

  /** from now on calls get no answer until resume(), as from a stopped
   * (SIGSTOP) server; a call's abort signal still ends it */
  hang(): void {
    this.held ??= [];
  }

  /** answer every waiting call and stop hanging */
  resume(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const answer of held) answer();
  }

  /** calls waiting for an answer now */
  get waiting(): number {
    return this.held?.length ?? 0;
  }

  /** a push notification, as a file watcher would send */
  emitChange(name: string): void {
    this.watchers.get(name)?.();
  }

  async fetch(ref: SecretRef, signal?: AbortSignal): Promise<SecretValue> {
    this.log.push({ call: `fetch:${ref.name}`, at: this.now() });
    await this.unanswered(signal);
    this.maybeFail(ref.name);
    const e = this.backend.get(ref.name);
    if (!e) throw new AgentError('missing', `${ref.name}: not in the memory backend`);
    const value: SecretValue = { data: { ...e.data }, version: String(e.version) };
    if (e.lease) {
      const id = `lease-${ref.name}-${++this.leaseSeq}`;
      this.issued.set(id, this.now());
      value.lease = { id, ttlSeconds: e.lease.ttlSeconds, renewable: e.lease.renewable, obtainedAt: this.now() };
    }
    return value;
  }

  changed?: (ref: SecretRef, known: SecretValue, signal?: AbortSignal) => Promise<boolean> = async (ref, known, signal) => {
    this.log.push({ call: `changed:${ref.name}`, at: this.now() });
    await this.unanswered(signal);
    this.maybeFail(ref.name);
    return String(this.backend.get(ref.name)?.version) !== known.version;
  };

  async renew(ref: SecretRef, value: SecretValue): Promise<SecretValue> {
    this.log.push({ call: `renew:${ref.name}`, at: this.now() });
    this.maybeFail(ref.name);
    const policy = this.backend.get(ref.name)?.lease;
    const lease = value.lease;
    if (!policy || !lease) throw new AgentError('internal', 'renew of an unleased value');
    const issuedAt = this.issued.get(lease.id) ?? lease.obtainedAt;
    const left = policy.maxTtlSeconds - (this.now() - issuedAt) / 1000;
    if (left <= 0) throw new AgentError('missing', `${ref.name}: lease expired`);
    return { ...value, lease: { ...lease, ttlSeconds: Math.floor(Math.min(policy.ttlSeconds, left)), obtainedAt: this.now() } };
  }

  watch?: (ref: SecretRef, onChange: () => void) => () => void = (ref, onChange) => {
    this.watchers.set(ref.name, onChange);
    return () => this.watchers.delete(ref.name);
  };

  describe(ref: SecretRef): string {
    return `memory:${ref.name}`;
  }

  async close(): Promise<void> {}

  private async unanswered(signal: AbortSignal | undefined): Promise<void> {
    const held = this.held;
    if (!held) return;
    await new Promise<void>((resolve, reject) => {
      held.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  private maybeFail(name: string): void {
    const q = this.failures.get(name);
    const err = q?.shift();
    if (err) throw err;
  }
}
