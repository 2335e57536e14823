// AdmissionReview v1 in, AdmissionReview v1 out. Pure: the server does the I/O.
// Anything that is not a Pod CREATE passes untouched; a pod that asks for
// injection with a bad annotation is denied with a message naming it.

import type { Logger } from '../log/logger.ts';
import { buildPatch } from './patch.ts';
import { planInjection } from './plan.ts';
import type { Pod } from './pod-types.ts';
import type { WebhookConfig } from './webhook-config.ts';

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch */
  patch?: string;
  status?: { code: number; message: string; reason?: string; status?: 'Failure' };
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** the review could not be understood at all: the server answers HTTP 400 */
export type ReviewOutcome = { ok: true; review: AdmissionReviewOut; decision: Decision } | { ok: false; httpStatus: number; message: string };

/** what happened, for the log line and metrics */
export type Decision = 'not-a-pod' | 'not-create' | 'skipped' | 'injected' | 'denied';

/** Kubernetes shows at most this much of a warning; longer ones are cut */
const MAX_WARNING = 256;

export function handleAdmissionReview(body: unknown, cfg: WebhookConfig, logger?: Logger): ReviewOutcome {
  const req = readRequest(body);
  if (typeof req === 'string') return { ok: false, httpStatus: 400, message: req };
  const { uid, request } = req;
  const reply = (response: Omit<AdmissionResponse, 'uid'>, decision: Decision): ReviewOutcome => ({
    ok: true,
    decision,
    review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } },
  });

  const kind = asRecord(request.kind);
  const resource = asRecord(request.resource);
  const isPod = (kind.kind === 'Pod' && (kind.group ?? '') === '') || (resource.resource === 'pods' && (resource.group ?? '') === '');
  if (!isPod || request.subResource) return reply({ allowed: true }, 'not-a-pod');
  if (request.operation !== 'CREATE') return reply({ allowed: true }, 'not-create');

  const pod = request.object as Pod | undefined;
  if (!pod || typeof pod !== 'object' || !pod.spec || !Array.isArray(pod.spec.containers)) {
    return reply({ allowed: false, status: failure(400, 'erlmcp-secrets: the AdmissionReview has no pod object with spec.containers') }, 'denied');
  }

  const where = { uid, namespace: request.namespace, pod: pod.metadata?.name ?? pod.metadata?.generateName, dryRun: request.dryRun === true };
  const result = planInjection(pod, cfg);
  switch (result.kind) {
    case 'skip':
      logger?.debug({ ...where, reason: result.reason }, 'pod passed untouched');
      return reply({ allowed: true }, 'skipped');
    case 'deny': {
      const message = denialMessage(result.problems);
      logger?.info({ ...where, problems: result.problems.length }, 'pod denied: bad secrets.erlmcp.io annotations');
      return reply({ allowed: false, status: failure(400, message) }, 'denied');
    }
    case 'inject': {
      const ops = buildPatch(pod, result.plan);
      logger?.info({ ...where, mode: result.plan.mode, ops: ops.length }, 'injecting erlmcp-secrets');
      const warnings = result.warnings.map((w) => `erlmcp-secrets: ${w}`.slice(0, MAX_WARNING));
      return reply(
        {
          allowed: true,
          patchType: 'JSONPatch',
          patch: Buffer.from(JSON.stringify(ops), 'utf8').toString('base64'),
          ...(warnings.length ? { warnings } : {}),
        },
        'injected',
      );
    }
  }
}

/** a pod with thousands of bad entries still gets an answer of bounded size */
const MAX_PROBLEMS_SHOWN = 30;
const MAX_PROBLEM_LENGTH = 1000;

export function denialMessage(problems: string[]): string {
  const cut = (p: string) => (p.length > MAX_PROBLEM_LENGTH ? `${p.slice(0, MAX_PROBLEM_LENGTH - 3)}...` : p);
  if (problems.length === 1) return `erlmcp-secrets: ${cut(problems[0]!)}`;
  const shown = problems.slice(0, MAX_PROBLEMS_SHOWN).map((p, i) => `(${i + 1}) ${cut(p)}`);
  const more = problems.length > MAX_PROBLEMS_SHOWN ? `; and ${problems.length - MAX_PROBLEMS_SHOWN} more` : '';
  return `erlmcp-secrets: ${problems.length} problems: ${shown.join('; ')}${more}`;
}

function failure(code: number, message: string): NonNullable<AdmissionResponse['status']> {
  return { code, message, reason: 'BadRequest', status: 'Failure' };
}

function readRequest(body: unknown): { uid: string; request: Record<string, unknown> } | string {
  const b = asRecord(body);
  if (b.kind !== 'AdmissionReview') return 'expected an AdmissionReview (kind)';
  if (b.apiVersion !== 'admission.k8s.io/v1') return `expected apiVersion admission.k8s.io/v1, got ${JSON.stringify(String(b.apiVersion)).slice(0, 60)}; list only v1 in admissionReviewVersions`;
  const request = asRecord(b.request);
  if (typeof request.uid !== 'string' || request.uid === '') return 'the AdmissionReview has no request.uid';
  return { uid: request.uid, request };
}

function asRecord(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
