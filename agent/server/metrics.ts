// Prometheus metrics of one agent, in their own prom-client Registry (never
// the global one: tests and the webhook create their own). Labels carry
// provider, secret and notifier names, destinations and error codes: never a
// value. Gauges that depend on time (seconds until expiry, stale count) are
// computed at scrape time from the clock, so they are right between updates.
//
//   const m = new AgentMetrics({ clock, health, version });
//   m.fetched('vault', 'db'); m.fetchFailed('vault', 'db', 'unavailable');
//   m.leaseRenewal('dbcreds', 'renewed' | 'capped' | 'refetched' | 'failed');
//   m.rendered('/run/secrets/erlmcp.env', 'written' | 'unchanged' | 'failed');
//   m.reloaded('reload[0]:signal', ok);
//   m.outputRestored('/run/secrets/erlmcp.env', 'missing' | 'changed' | 'unwritten', ok);
//   m.expiresAt('lease' | 'token' | 'certificate', name, epochMs);
//   m.refreshed('db', epochMs);
//   await m.text()  -> exposition text;  m.contentType

import { Counter, Gauge, Registry } from 'prom-client';
import type { Health } from './health.ts';

export type ExpiryKind = 'lease' | 'token' | 'certificate';
export type RenewalOutcome = 'renewed' | 'capped' | 'refetched' | 'failed';
export type RenderResult = 'written' | 'unchanged' | 'failed';

export interface MetricsOptions {
  clock: { now(): number };
  health?: Health;
  version: string;
}

const P = 'erlmcp_secrets_';

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly expiries = new Map<string, { kind: ExpiryKind; name: string; at: number }>();
  private readonly fetches: Counter<'provider' | 'secret'>;
  private readonly fetchErrors: Counter<'provider' | 'secret' | 'code'>;
  private readonly renewals: Counter<'secret' | 'outcome'>;
  private readonly renders: Counter<'destination' | 'result'>;
  private readonly reloads: Counter<'notifier' | 'outcome'>;
  private readonly lastRefresh: Gauge<'secret'>;
  private readonly restores: Counter<'destination' | 'reason' | 'result'>;

  constructor(opts: MetricsOptions) {
    const registers = [this.registry];
    const now = (): number => opts.clock.now();
    this.fetches = new Counter({ name: `${P}fetches_total`, help: 'Reads of a secret from its backend, init included: a change check, a fetch, or a check that found a change and the fetch after it, one each', labelNames: ['provider', 'secret'], registers });
    this.fetchErrors = new Counter({ name: `${P}fetch_errors_total`, help: 'Failed secret reads, by error code', labelNames: ['provider', 'secret', 'code'], registers });
    this.renewals = new Counter({ name: `${P}lease_renewals_total`, help: 'Lease renewals by outcome (capped: granted less than asked, a refetch follows)', labelNames: ['secret', 'outcome'], registers });
    this.renders = new Counter({ name: `${P}renders_total`, help: 'Template renders by result (unchanged: same bytes, no write)', labelNames: ['destination', 'result'], registers });
    this.reloads = new Counter({ name: `${P}reloads_total`, help: 'Reload notifier runs by outcome', labelNames: ['notifier', 'outcome'], registers });
    this.lastRefresh = new Gauge({ name: `${P}last_refresh_timestamp_seconds`, help: 'Unix time of the last successful refresh of each secret', labelNames: ['secret'], registers });
    this.restores = new Counter({
      name: `${P}output_restores_total`,
      help: 'Rendered files found deleted, changed on disk, or not written after a failed write, and rewritten from the last good render (result: restored | failed)',
      labelNames: ['destination', 'reason', 'result'],
      registers,
    });
    const expiries = this.expiries;
    new Gauge({
      name: `${P}expiry_seconds`,
      help: 'Seconds until a lease, the backend token or a certificate expires (negative: expired)',
      labelNames: ['kind', 'name'],
      registers,
      collect() {
        this.reset();
        for (const e of expiries.values()) this.set({ kind: e.kind, name: e.name }, (e.at - now()) / 1000);
      },
    });
    const health = opts.health;
    if (health) {
      new Gauge({
        name: `${P}stale_secrets`,
        help: 'Secrets served past their TTL since the last successful refresh',
        registers,
        collect() {
          this.set(health.readiness().stale.length);
        },
      });
      new Gauge({
        name: `${P}rejected_values`,
        help: '1 for a secret whose new value was refused (broke a rule, or cannot be written): the files keep the last good value',
        labelNames: ['secret'],
        registers,
        collect() {
          this.reset();
          for (const r of health.readiness().rejected ?? []) this.set({ secret: r.secret }, 1);
        },
      });
      new Gauge({
        name: `${P}secret_age_seconds`,
        help: "Age of each secret's current version, as its backend says (KV v2 created_time, AWS CreatedDate, Azure updated, GCP createTime, file mtime); absent when the backend does not say",
        labelNames: ['secret'],
        registers,
        collect() {
          this.reset();
          for (const a of health.ages()) this.set({ secret: a.secret }, a.ageSeconds);
        },
      });
      new Gauge({
        name: `${P}rotation_overdue`,
        help: '1 for a secret whose current version is older than its maxAge, 0 for one within it (only secrets with a maxAge and a known age)',
        labelNames: ['secret'],
        registers,
        collect() {
          this.reset();
          const overdue = new Set(health.overdue().map((o) => o.secret));
          for (const a of health.ages()) if (a.maxAgeSeconds !== undefined) this.set({ secret: a.secret }, overdue.has(a.secret) ? 1 : 0);
        },
      });
      new Gauge({
        name: `${P}ready`,
        help: '1 when the first render is done and nothing is stale',
        registers,
        collect() {
          this.set(health.readiness().ready ? 1 : 0);
        },
      });
    }
    const info = new Gauge({ name: `${P}build_info`, help: 'Agent build information (always 1)', labelNames: ['version', 'nodejs'], registers });
    info.set({ version: opts.version, nodejs: process.version }, 1);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  fetched(provider: string, secret: string): void {
    this.fetches.inc({ provider, secret });
  }

  fetchFailed(provider: string, secret: string, code: string): void {
    this.fetches.inc({ provider, secret });
    this.fetchErrors.inc({ provider, secret, code });
  }

  leaseRenewal(secret: string, outcome: RenewalOutcome): void {
    this.renewals.inc({ secret, outcome });
  }

  rendered(destination: string, result: RenderResult): void {
    this.renders.inc({ destination, result });
  }

  reloaded(notifier: string, ok: boolean): void {
    this.reloads.inc({ notifier, outcome: ok ? 'ok' : 'failed' });
  }

  outputRestored(destination: string, reason: string, ok: boolean): void {
    this.restores.inc({ destination, reason, result: ok ? 'restored' : 'failed' });
  }

  refreshed(secret: string, atMs: number): void {
    this.lastRefresh.set({ secret }, atMs / 1000);
  }

  expiresAt(kind: ExpiryKind, name: string, atMs: number): void {
    this.expiries.set(`${kind}\0${name}`, { kind, name, at: atMs });
  }

  clearExpiry(kind: ExpiryKind, name: string): void {
    this.expiries.delete(`${kind}\0${name}`);
  }
}
