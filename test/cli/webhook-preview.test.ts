// `webhook preview`: the pod as the webhook would admit it, without a
// cluster. The expected result is computed independently: the webhook's own
// AdmissionReview handler's patch, applied with fast-json-patch.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import jsonpatch from 'fast-json-patch';
import { runCli, ROOT } from '../helpers/cli.ts';
import { handleAdmissionReview } from '../../agent/webhook/admission.ts';
import { parseWebhookConfig } from '../../agent/webhook/webhook-config.ts';

const DEPLOYMENT = path.join(ROOT, 'examples/kubernetes/erlmcp-deployment.yaml');
const CONFIG_MAP = path.join(ROOT, 'examples/kubernetes/webhook-config.yaml');

function expectedPod(): unknown {
  const deployment = parseAllDocuments(readFileSync(DEPLOYMENT, 'utf8')).map((d) => d.toJS() as { kind: string; spec: { template: { metadata: unknown; spec: unknown } } }).find((d) => d.kind === 'Deployment')!;
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: deployment.spec.template.metadata, spec: deployment.spec.template.spec };
  const cfg = parseWebhookConfig(parseYaml((parseYaml(readFileSync(CONFIG_MAP, 'utf8')) as { data: Record<string, string> }).data['webhook.yaml']!), 'configmap');
  const out = handleAdmissionReview({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'Pod' }, operation: 'CREATE', object: pod } }, cfg);
  if (!out.ok || !out.review.response.patch) throw new Error('the webhook did not inject');
  const ops = JSON.parse(Buffer.from(out.review.response.patch, 'base64').toString('utf8')) as jsonpatch.Operation[];
  return jsonpatch.applyPatch(structuredClone(pod), ops, true, false).newDocument;
}

t.test('a Deployment with the webhook ConfigMap: its pod template as the webhook patches it', async (t) => {
  const r = await runCli(['webhook', 'preview', '-f', DEPLOYMENT, '--config', CONFIG_MAP]);
  t.equal(r.code, 0, r.stderr);
  const previewed = parseYaml(r.stdout) as { metadata: { annotations: Record<string, string> }; spec: { initContainers?: Array<{ name: string }> } };
  t.same(previewed, expectedPod(), 'what the admission handler patch gives, applied by fast-json-patch');
  t.equal(previewed.metadata.annotations['secrets.erlmcp.io/status'], 'injected');
  t.ok(previewed.spec.initContainers?.length, 'the agent container is there');
});

t.test('denied: the message on stderr, nothing on stdout, exit 2; in JSON one error line', async (t) => {
  const r = await runCli(['webhook', 'preview', '--log-format', 'text', '-f', DEPLOYMENT]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '');
  t.match(r.stderr, /^denied: erlmcp-secrets: secrets\.erlmcp\.io\/secret-cookie: uses Vault, but no Vault address is known/);
  const j = await runCli(['webhook', 'preview', '-f', DEPLOYMENT], { env: { ERLMCP_SECRETS_LOG_FORMAT: 'json' } });
  t.equal(j.code, 2);
  t.equal(j.stdout, '');
  const lines = j.stderr.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  const rec = JSON.parse(lines[0]!) as { level: string; msg: string; problems: string[]; exitCode: number };
  t.equal(rec.level, 'error');
  t.equal(rec.exitCode, 2);
  t.match(rec.msg, /^webhook preview: denied: erlmcp-secrets: secrets\.erlmcp\.io\/secret-cookie: uses Vault/);
  t.match(rec.problems, [/secret-cookie: uses Vault, but no Vault address is known/]);
});

t.test('a pod that does not ask for injection passes untouched; usage errors exit 2', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erlmcp-preview-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain' }, spec: { containers: [{ name: 'app', image: 'busybox' }] } };
  writeFileSync(path.join(dir, 'pod.json'), JSON.stringify(pod));
  const r = await runCli(['webhook', 'preview', '-f', path.join(dir, 'pod.json'), '--log-format=text']);
  t.equal(r.code, 0, r.stderr);
  t.same(parseYaml(r.stdout), pod);
  t.match(r.stderr, /^not injected: /);
  const j = await runCli(['webhook', 'preview', '-f', path.join(dir, 'pod.json'), '--log-format', 'json']);
  t.equal(j.code, 0, j.stderr);
  t.same(parseYaml(j.stdout), pod, 'the pod on stdout in either format');
  t.match(JSON.parse(j.stderr) as unknown, { level: 'info', msg: 'webhook preview: not injected' });
  const noFile = await runCli(['webhook', 'preview']);
  t.equal(noFile.code, 2);
  t.match(noFile.problems, [/give the pod manifest with -f/]);
  writeFileSync(path.join(dir, 'svc.yaml'), 'kind: Service\nspec: {}\n');
  const svc = await runCli(['webhook', 'preview', '-f', path.join(dir, 'svc.yaml')]);
  t.equal(svc.code, 2);
  t.match(svc.problems, [/is a Service; give a Pod/]);
});
