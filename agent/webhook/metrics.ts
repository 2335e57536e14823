// The webhook's Prometheus metrics, in their own registry (one per server).

import { Counter, Gauge, Registry } from 'prom-client';
import type { Decision } from './admission.ts';

export class WebhookMetrics {
  readonly registry = new Registry();
  readonly admissions = new Counter({
    name: 'erlmcp_secrets_webhook_admissions_total',
    help: 'AdmissionReviews answered, by decision (injected, denied, skipped, not-a-pod, not-create, bad-request)',
    labelNames: ['decision'] as const,
    registers: [this.registry],
  });
  readonly certificateReloads = new Counter({
    name: 'erlmcp_secrets_webhook_certificate_reloads_total',
    help: 'Serving certificate changes seen on disk, by result (loaded, rejected)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly certificateNotAfter = new Gauge({
    name: 'erlmcp_secrets_webhook_certificate_not_after_seconds',
    help: 'Expiry of the certificate being served, unix seconds',
    registers: [this.registry],
  });

  admitted(decision: Decision | 'bad-request'): void {
    this.admissions.inc({ decision });
  }

  serving(notAfter: string): void {
    const t = Date.parse(notAfter);
    if (Number.isFinite(t)) this.certificateNotAfter.set(Math.floor(t / 1000));
  }
}
