// `erlmcp-secrets webhook preview -f pod.yaml [--config webhook.yaml]`: what
// the admission webhook would do to a pod, without a cluster. The webhook's
// own plan and patch functions decide; this module only reads the files,
// applies the JSON Patch to the pod and prints it (YAML on stdout), or the
// denial (stderr, exit 2: an annotation error is a config error).
// A Deployment, StatefulSet, DaemonSet, Job or ReplicaSet is previewed by
// its pod template, as the pod it would create.

import { isReadRefusal, readBounded } from '../files/bounded-read.ts';
import { parseArgs } from 'node:util';
import { parse as parseYaml, parseAllDocuments, stringify as stringifyYaml } from 'yaml';
import { AgentError } from '../errors.ts';
import { buildPatch, type PatchOp } from '../webhook/patch.ts';
import { planInjection } from '../webhook/plan.ts';
import type { Pod } from '../webhook/pod-types.ts';
import { denialMessage } from '../webhook/admission.ts';
import { loadWebhookConfig, parseWebhookConfig } from '../webhook/webhook-config.ts';
import { EXIT } from './exit-codes.ts';
import { logFormatOf, type Logger } from '../log/logger.ts';

/** a pod manifest is a few kB; the API server's own request limit is 3 MiB */
const MAX_MANIFEST_BYTES = 3 * 1024 * 1024;
const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job']);

export interface PreviewIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** `logger` carries the format (main applied --log-format): in JSON the
 * denial, skip and warnings are log lines, in text the plain lines below */
export async function runWebhookPreview(argv: string[], io: PreviewIO, logger: Logger): Promise<number> {
  let values: { file?: string | undefined; config?: string | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      // --log-format: read by main before this parser runs
      options: { file: { type: 'string', short: 'f' }, config: { type: 'string', short: 'c' }, 'log-format': { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (e) {
    throw new AgentError('usage', `webhook preview: ${(e as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  if (!values.file) throw new AgentError('usage', 'webhook preview: give the pod manifest with -f, e.g. webhook preview -f pod.yaml --config webhook.yaml');
  const cfg = parseWebhookConfig(fromConfigMap(await loadWebhookConfig(values.config)), values.config ?? 'the default webhook config');
  const pod = podOf(await readManifest(values.file), values.file);

  const text = logFormatOf(logger) === 'text';
  const result = planInjection(pod, cfg);
  switch (result.kind) {
    case 'skip':
      if (text) io.stderr.write(`not injected: ${result.reason}\n`);
      else logger.info({ reason: result.reason }, 'webhook preview: not injected');
      io.stdout.write(stringifyYaml(pod));
      return EXIT.ok;
    case 'deny':
      if (text) io.stderr.write(`denied: ${denialMessage(result.problems)}\n`);
      else logger.error({ code: 'config', exitCode: EXIT.config, problems: result.problems }, `webhook preview: denied: ${denialMessage(result.problems)}`);
      return EXIT.config;
    case 'inject': {
      for (const w of result.warnings) {
        if (text) io.stderr.write(`warning: erlmcp-secrets: ${w}\n`);
        else logger.warn(`webhook preview: ${w}`);
      }
      io.stdout.write(stringifyYaml(applyPatch(pod, buildPatch(pod, result.plan))));
      return EXIT.ok;
    }
  }
}

async function readManifest(file: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readBounded(file, MAX_MANIFEST_BYTES)).toString('utf8');
  } catch (e) {
    if (!isReadRefusal(e)) throw e;
    throw new AgentError('usage', `webhook preview: cannot read ${e.file}: ${e.message}`);
  }
  // YAML is a superset of JSON: one parser for both. A file of several
  // documents (a Service and its Deployment) is previewed by the first pod or
  // workload in it.
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) throw new AgentError('usage', `webhook preview: ${file} is not valid YAML or JSON`);
  const objects = list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown);
  return objects.find((o) => isPodOrWorkload(o)) ?? objects[0];
}

/** the ConfigMap the webhook is deployed with (examples/kubernetes/webhook-config.yaml) holds the config as data["webhook.yaml"] */
function fromConfigMap(raw: unknown): unknown {
  const r = raw as { kind?: unknown; data?: Record<string, unknown> } | undefined;
  if (r?.kind !== 'ConfigMap' || typeof r.data?.['webhook.yaml'] !== 'string') return raw;
  try {
    return parseYaml(r.data['webhook.yaml'], { maxAliasCount: 100 });
  } catch {
    throw new AgentError('config', 'the ConfigMap\'s data["webhook.yaml"] is not valid YAML');
  }
}

function isPodOrWorkload(o: unknown): boolean {
  const kind = o !== null && typeof o === 'object' ? (o as { kind?: unknown }).kind : undefined;
  return kind === 'Pod' || (typeof kind === 'string' && WORKLOADS.has(kind));
}

function podOf(doc: unknown, file: string): Pod {
  const obj = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
  if (!obj) throw new AgentError('usage', `webhook preview: ${file} holds no Kubernetes object`);
  const kind = obj.kind;
  let pod: Record<string, unknown> | undefined = obj;
  if (typeof kind === 'string' && WORKLOADS.has(kind)) {
    const template = ((obj.spec as Record<string, unknown> | undefined)?.template ?? undefined) as Record<string, unknown> | undefined;
    pod = template ? { apiVersion: 'v1', kind: 'Pod', metadata: template.metadata ?? {}, spec: template.spec } : undefined;
  } else if (kind !== undefined && kind !== 'Pod') {
    throw new AgentError('usage', `webhook preview: ${file} is a ${String(kind)}; give a Pod (or a Deployment, StatefulSet, DaemonSet, ReplicaSet or Job)`);
  }
  const spec = pod?.spec as { containers?: unknown } | undefined;
  if (!pod || !spec || !Array.isArray(spec.containers)) throw new AgentError('usage', `webhook preview: ${file} has no pod spec with containers`);
  return structuredClone(pod) as unknown as Pod;
}

/** RFC 6902 add/replace/remove, the only operations buildPatch emits */
export function applyPatch<T>(doc: T, ops: PatchOp[]): T {
  const root = structuredClone(doc) as unknown;
  for (const op of ops) {
    const segments = op.path.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = segments.pop();
    if (last === undefined) throw new AgentError('internal', `webhook preview: patch path "${op.path}" has no target`);
    let parent = root as Record<string, unknown> | unknown[];
    for (const s of segments) {
      const next = Array.isArray(parent) ? parent[Number(s)] : parent[s];
      if (next === null || typeof next !== 'object') throw new AgentError('internal', `webhook preview: patch path "${op.path}" does not exist in the pod`);
      parent = next as Record<string, unknown> | unknown[];
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new AgentError('internal', `webhook preview: patch index in "${op.path}" is out of range`);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'replace') parent[i] = structuredClone(op.value);
      else parent.splice(i, 1);
    } else if (op.op === 'remove') {
      delete parent[last];
    } else {
      parent[last] = structuredClone(op.value);
    }
  }
  return root as T;
}
