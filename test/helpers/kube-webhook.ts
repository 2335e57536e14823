// Our webhook as the real API server calls it: the built bundle
// (`erlmcp-secrets webhook`) on 127.0.0.1 with a certificate from
// examples/kubernetes/gen-certs.sh, and examples/kubernetes/mutating-webhook.yaml
// registered with its clientConfig changed to that URL and CA (the only
// change: everything else is the manifest operators apply).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { startAgent, type AgentProcess } from './agent-process.ts';
import { BUNDLE, ROOT } from './cli.ts';
import type { KubeCluster } from './kube-cluster.ts';
import { agentConfigOf } from './webhook-admit.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';

export const EXAMPLES = path.join(ROOT, 'examples', 'kubernetes');
const GEN_CERTS = path.join(EXAMPLES, 'gen-certs.sh');

export interface LocalWebhook {
  /** https://127.0.0.1:PORT/mutate */
  url: string;
  port: number;
  caPem: string;
  proc: AgentProcess;
  /** a new serving certificate from the same CA, as `gen-certs.sh` with KEEP_CA=1 makes it */
  reissue(): void;
  /** the certificate's SHA-256 fingerprint as the webhook logs it */
  fingerprint(): string;
  /** the admissions it answered so far, by decision (its GET /metrics) */
  admissions(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** the webhook config of examples/kubernetes/webhook-config.yaml (the ConfigMap's webhook.yaml) */
export function exampleWebhookConfigText(): string {
  const cm = parseYaml(readFileSync(path.join(EXAMPLES, 'webhook-config.yaml'), 'utf8')) as { data: Record<string, string> };
  return cm.data['webhook.yaml']!;
}

/** a serving certificate for 127.0.0.1 from examples/kubernetes/gen-certs.sh, in a directory removed at teardown */
export interface WebhookCerts {
  dir: string;
  caPem: string;
  /** a new serving certificate from the same CA, as `gen-certs.sh` with KEEP_CA=1 makes it */
  reissue(): void;
}

export function makeWebhookCerts(t: Test): WebhookCerts {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-kube-webhook-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gen = (keepCa: boolean): void => {
    execFileSync('bash', [GEN_CERTS], { env: { ...process.env, OUT_DIR: dir, EXTRA_SANS: 'IP:127.0.0.1', KEEP_CA: keepCa ? '1' : '0', DAYS: '2' }, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  gen(false);
  return { dir, caPem: readFileSync(path.join(dir, 'ca.crt'), 'utf8'), reissue: () => gen(true) };
}

export interface LocalWebhookOptions {
  /** certificates made beforehand (their CA is needed before the webhook starts, e.g. for `helm install`) */
  certs?: WebhookCerts;
  /** a port chosen beforehand (the URL registered before the webhook starts); else any free one */
  port?: number;
}

export async function startLocalWebhook(t: Test, configText = exampleWebhookConfigText(), extraArgs: string[] = [], opts: LocalWebhookOptions = {}): Promise<LocalWebhook> {
  const certs = opts.certs ?? makeWebhookCerts(t);
  const { dir } = certs;
  writeFileSync(path.join(dir, 'webhook.yaml'), configText);
  const proc = startAgent(t, ['webhook', '--tls-cert', path.join(dir, 'tls.crt'), '--tls-key', path.join(dir, 'tls.key'), '--config', path.join(dir, 'webhook.yaml'), '--listen', `127.0.0.1:${opts.port ?? 0}`, '--log-format', 'json', ...extraArgs], { program: BUNDLE });
  const listening = await proc.waitForLog((l) => l.msg === 'webhook listening', 'the webhook to listen', 30_000);
  const port = (listening.address as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}/mutate`,
    port,
    caPem: certs.caPem,
    proc,
    reissue: certs.reissue,
    fingerprint: () => execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(dir, 'tls.crt')], { encoding: 'utf8' }).replace(/^.*=/, '').trim(),
    admissions: async () => admissionCounts(await getMetrics(port, certs.caPem)),
    stop: async () => {
      const running = (): boolean => proc.proc.exitCode === null && proc.proc.signalCode === null;
      const from = proc.logs.length;
      const draining = proc.logs.some((l) => l.msg.startsWith('webhook stopping: not ready'));
      if (running() && !draining) proc.proc.kill('SIGTERM');
      // a second SIGTERM ends the shutdown delay: a test that wants it gone does not wait it out
      if (!draining) await proc.waitForLog((l) => l.msg.startsWith('webhook stopping'), 'the webhook to stop', 15_000, from).catch(() => undefined);
      if (running()) proc.proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}

function getMetrics(port: number, caPem: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', ca: caPem, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET /metrics answered ${res.statusCode}`))));
    });
    req.once('timeout', () => req.destroy(new Error('GET /metrics timed out')));
    req.once('error', reject);
    req.end();
  });
}

function admissionCounts(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metrics.matchAll(/^erlmcp_secrets_webhook_admissions_total\{decision="([a-z-]+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

type Json = Record<string, unknown>;

/** examples/kubernetes/mutating-webhook.yaml with clientConfig pointing at `url`; `edit` may change more (tests of other settings) */
export function exampleMutatingWebhook(url: string, caPem: string, edit: (w: Json, doc: Json) => void = () => {}): string {
  const doc = parseYaml(readFileSync(path.join(EXAMPLES, 'mutating-webhook.yaml'), 'utf8')) as Json & { webhooks: Json[] };
  for (const w of doc.webhooks) {
    w.clientConfig = { url, caBundle: Buffer.from(caPem).toString('base64') };
    edit(w, doc);
  }
  return JSON.stringify(doc);
}

/** registers the local webhook with the API server as the example manifest does */
export async function registerWebhook(k: KubeCluster, wh: LocalWebhook, edit?: (w: Json, doc: Json) => void): Promise<void> {
  await k.apply(exampleMutatingWebhook(wh.url, wh.caPem, edit));
}

/** the documents of an example manifest */
export function exampleDocuments(file: string): Json[] {
  return parseAllDocuments(readFileSync(path.join(EXAMPLES, file), 'utf8'))
    .map((d) => d.toJS() as Json | null)
    .filter((d): d is Json => d !== null);
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  restartPolicy?: string;
  env?: Array<{ name: string; value?: string }>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Json;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}

export interface PodJson {
  metadata: { name: string; namespace: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; volumes?: Array<Json & { name: string }> };
}

export function containerNames(pod: PodJson): { init: string[]; app: string[] } {
  return { init: (pod.spec.initContainers ?? []).map((c) => c.name), app: pod.spec.containers.map((c) => c.name) };
}

/** the JSON the webhook put into an agent container's ERLMCP_SECRETS_CONFIG */
export const agentConfigIn = (pod: PodJson, container: string): Json => agentConfigOf(pod as unknown as Pod, container);

/** a Pod asking for injection, with one app container in a restricted-compliant shape */
export function injectPod(name: string, namespace: string, annotations: Record<string, string>, spec: Json = {}): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'secrets.erlmcp.io/inject': 'true' }, annotations: { 'secrets.erlmcp.io/inject': 'true', ...annotations } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'erlmcp',
          image: 'erlmcp/erlmcp:3.0.0',
          command: ['/opt/erlmcp/bin/erlmcp'],
          args: ['foreground'],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
        },
      ],
      ...spec,
    },
  };
}
