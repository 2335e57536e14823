// What a check's result does: an unchanged value is stored as fresh again; a
// changed one is validated (require rules, keys templates use) and
// trial-rendered before it replaces the last good one, then handed on
// (onChanged) to be rendered. A bad value is refused with an error (the
// caller logs it and retries with backoff): the files keep the last good
// content. Each fresh value is recorded for /readyz, the metrics and the
// rotation-age warning.

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import { AgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { checkValues } from '../pipeline/check-values.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import { renderAll } from '../pipeline/render-all.ts';
import { ageFields, overdueMessage, rotationAge } from '../pipeline/rotation-age.ts';
import type { SecretValue } from '../providers/provider.ts';
import type { Clock } from '../scheduler/clock.ts';
import { leaseExpiresAt } from '../scheduler/timing.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import { sameData, type SecretStore } from '../store/store.ts';
import { dependents } from './rendered-files.ts';

export interface SecretResultsDeps {
  config: AgentConfig;
  store: SecretStore;
  health: Health;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  /** the templates in use now, for trial renders */
  templates(): readonly PreparedTemplate[];
  /** an accepted new value: re-render what uses it */
  onChanged(name: string): void;
}

export class SecretResults {
  private readonly d: SecretResultsDeps;
  /** secret -> createdAt of the version last reported overdue: one warning per
   * version, and one entry per secret however often it rotates */
  private readonly overdueReported = new Map<string, number | undefined>();

  constructor(deps: SecretResultsDeps) {
    this.d = deps;
  }

  /** the value init rendered: recorded as fresh at the time init got it
   * (init has warned of what is overdue already) */
  recordInitial(secret: SecretConfig, value: SecretValue, freshAt: number): void {
    const age = rotationAge(secret, value, this.d.clock.now());
    if (age?.overdue) this.overdueReported.set(secret.name, age.createdAt);
    this.recordFresh(secret, value, freshAt);
  }

  /** a check found the value unchanged without fetching it */
  unchanged(secret: SecretConfig, value: SecretValue, now: number): void {
    this.d.store.touch(secret.name, now);
    this.recordFresh(secret, value, now);
  }

  /** a value fetched or renewed: stored as fresh when its data is the same
   * as `before` (the value when the call was made), else accepted as a change
   * (throws when it breaks its rules) */
  async fetched(secret: SecretConfig, before: SecretValue, value: SecretValue, now: number): Promise<void> {
    if (sameData(before.data, value.data)) {
      this.d.store.set(secret.name, value, now);
      this.recordFresh(secret, value, now);
      return;
    }
    await this.accept(secret, value, now);
  }

  /** a changed value: validate and trial-render, then store and hand it on */
  private async accept(secret: SecretConfig, value: SecretValue, now: number): Promise<void> {
    const candidate = new Map<string, SecretValue>();
    for (const n of this.d.store.names()) candidate.set(n, this.d.store.get(n)!.value);
    candidate.set(secret.name, value);
    const templates = [...this.d.templates()];
    const problems = checkValues(this.d.config, templates, candidate, now, [secret.name]);
    if (problems.length) {
      throw new AgentError('validation', `${secret.name}: the new value breaks its rules, keeping the last good one: ${problems.map((p) => p.message).join('; ')}`, {
        problems: problems.map((p) => p.message),
        where: `secrets.${secret.name}`,
      });
    }
    const data: Record<string, Record<string, string>> = {};
    for (const [n, v] of candidate) data[n] = v.data;
    // throws (validation/template) when the value cannot be written in its file's format
    renderAll(dependents(templates, [secret.name]), data);
    this.d.store.set(secret.name, value, now);
    this.recordFresh(secret, value, now);
    this.d.logger.info({ audit: true, secret: secret.name, version: value.version, leased: value.lease !== undefined }, 'secret changed');
    this.d.onChanged(secret.name);
  }

  private recordFresh(secret: SecretConfig, value: SecretValue, at: number): void {
    const leaseEnd = value.lease ? leaseExpiresAt(value.lease) : undefined;
    // past a lease's end or an issued certificate's NotAfter the value is no
    // longer valid (not ready); one that could not be renewed or issued again
    // is stale then too
    const validUntil = leaseEnd ?? value.issued?.until;
    const ttls = [secret.ttlMs, leaseEnd === undefined ? undefined : leaseEnd - at, value.issued ? value.issued.until - at : undefined].filter((x): x is number => x !== undefined);
    this.d.health.markFresh(secret.name, at, ttls.length ? Math.min(...ttls) : undefined, validUntil);
    this.d.metrics.refreshed(secret.name, at);
    this.d.health.markAge(secret.name, value.createdAt, secret.maxAgeMs);
    // a version turns overdue with time alone: each check looks again, and warns once per version
    const age = rotationAge(secret, value, this.d.clock.now());
    if (age?.overdue && this.overdueReported.get(secret.name) !== age.createdAt) {
      this.overdueReported.set(secret.name, age.createdAt);
      this.d.logger.warn({ ...ageFields(age), outcome: 'rotation-overdue' }, overdueMessage(age));
    }
    if (leaseEnd !== undefined) this.d.metrics.expiresAt('lease', secret.name, leaseEnd);
    else this.d.metrics.clearExpiry('lease', secret.name);
    if (value.issued?.basis === 'certificate') this.d.metrics.expiresAt('certificate', secret.name, value.issued.until);
  }
}
