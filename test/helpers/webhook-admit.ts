// Runs an AdmissionReview through the webhook's handler and applies the
// returned JSON Patch with fast-json-patch, as the API server would.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import jsonpatch from 'fast-json-patch';
import { handleAdmissionReview, type AdmissionResponse } from '../../agent/webhook/admission.ts';
import { defaultWebhookConfig, type WebhookConfig } from '../../agent/webhook/webhook-config.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { checkConfigDocument } from '../../agent/pipeline/offline-check.ts';

export const FIXTURES = path.join(import.meta.dirname, '..', 'webhook', 'fixtures');

export function testWebhookConfig(): WebhookConfig {
  const cfg = defaultWebhookConfig();
  cfg.agent.image = 'registry.example.com/erlmcp/erlmcp-secrets:0.1.0';
  cfg.vault.address = 'https://vault.vault.svc:8200';
  return cfg;
}

export interface Review {
  apiVersion: string;
  kind: string;
  request: { uid: string; object: Pod; [k: string]: unknown };
}

export function loadReview(name: string): Review {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Review;
}

export function reviewOf(pod: Pod, uid = 'test-uid'): Review {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid, kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', namespace: 'erlmcp', object: pod },
  };
}

export interface Admitted {
  response: AdmissionResponse;
  ops: jsonpatch.Operation[];
  /** the pod after the patch (the original when there is none) */
  pod: Pod;
}

export function admit(review: Review, cfg: WebhookConfig = testWebhookConfig()): Admitted {
  const out = handleAdmissionReview(review, cfg);
  if (!out.ok) throw new Error(`HTTP ${out.httpStatus}: ${out.message}`);
  return applyResponse(review.request.object, out.review.response);
}

/** the response's JSON Patch applied to the pod, as the API server applies it */
export function applyResponse(original: Pod, response: AdmissionResponse): Admitted {
  const ops = response.patch ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[]) : [];
  // validateOperation=true: an op on a missing path throws, as the API server would reject it
  const pod = ops.length ? (jsonpatch.applyPatch(jsonpatch.deepClone(original), ops, true, false).newDocument as Pod) : original;
  return { response, ops, pod };
}

/** the agent config a patched container carries in ERLMCP_SECRETS_CONFIG */
export function agentConfigOf(pod: Pod, container: string): Record<string, unknown> {
  const c = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((x) => x.name === container);
  const v = c?.env?.find((e) => e.name === 'ERLMCP_SECRETS_CONFIG')?.value;
  if (v === undefined) throw new Error(`container ${container} has no ERLMCP_SECRETS_CONFIG`);
  return JSON.parse(v) as Record<string, unknown>;
}

/** What `erlmcp-secrets check` would say of each injected container's config:
 * the same shared check (checkConfigDocument) on the JSON the container carries.
 * Empty when every agent container in the pod would pass. */
export function injectedConfigProblems(pod: Pod): string[] {
  const ours = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c) => c.env?.some((e) => e.name === 'ERLMCP_SECRETS_CONFIG'));
  return ours.flatMap((c) => checkConfigDocument(agentConfigOf(pod, c.name), { origin: `${c.name} $ERLMCP_SECRETS_CONFIG` }).problems);
}

/** a minimal pod with the given annotations and one app container */
export function podWith(annotations: Record<string, unknown>, spec: Record<string, unknown> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'erlmcp-0', namespace: 'erlmcp', annotations: annotations as Record<string, string> },
    spec: { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0' }], ...spec } as Pod['spec'],
  };
}

/** the denial message, or throws when the pod was admitted */
export function denialOf(pod: Pod, cfg: WebhookConfig = testWebhookConfig()): string {
  const { response } = admit(reviewOf(pod, 'deny-uid'), cfg);
  if (response.allowed) throw new Error('expected a denial, the pod was allowed');
  if (response.status?.code !== 400 || response.patch !== undefined) throw new Error(`a denial is HTTP 400 without a patch, got ${JSON.stringify(response.status)}`);
  return response.status.message;
}
