// Denials as an operator sees them: kubectl against a real API server
// (test/helpers/kube-cluster.ts) calling the webhook, so the answer is what
// kubectl prints, prefix included. Typos, path traversal, undeclared
// secrets, every problem in one answer (issue 14's second defect: unknown
// annotations used to hide the cross-checks, so the denial example in
// docs/kubernetes.md could not be produced), `--dry-run=server`, and a
// Deployment whose pods are denied (the answer is in the ReplicaSet's events).

import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ROOT } from '../helpers/cli.ts';
import { startKubeCluster, waitFor } from '../helpers/kube-cluster.ts';
import { containerNames, injectPod, registerWebhook, startLocalWebhook, type PodJson } from '../helpers/kube-webhook.ts';

t.setTimeout(600_000);

const P = 'secrets.erlmcp.io/';
const k = await startKubeCluster(t);
t.comment(`cluster ready in ${k.startMs} ms`);
const wh = await startLocalWebhook(t);
await registerWebhook(k, wh);
await k.namespace('erlmcp');

const DENIED = 'admission webhook "inject.secrets.erlmcp.io" denied the request: erlmcp-secrets: ';
const base = { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' };

/** writes the manifest to FILE and runs `kubectl VERB -f FILE` there, as an operator would */
async function kubectlFile(verb: string[], file: string, manifest: Record<string, unknown> | string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  writeFileSync(path.join(k.dir, file), typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  return k.kubectl([...verb, '-f', file]);
}

async function denial(file: string, annotations: Record<string, string>): Promise<string> {
  const r = await kubectlFile(['create'], file, injectPod(file.replace(/\.\w+$/, ''), 'erlmcp', annotations));
  if (r.code === 0) throw new Error(`${file} was admitted`);
  return r.stderr.trim();
}

const prefix = (file: string) => `Error from server (BadRequest): error when creating "${file}": ${DENIED}`;

t.test("docs/kubernetes.md's denial example is kubectl's answer word for word (every problem at once)", async (t) => {
  const doc = readFileSync(path.join(ROOT, 'docs/kubernetes.md'), 'utf8');
  const section = doc.split('\n## When a pod is denied\n')[1]!.split('\n## ')[0]!;
  const [podYaml, answer] = [...section.matchAll(/```(?:yaml)?\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const file = /^# (\S+)/.exec(podYaml!)![1]!;
  // the doc's pod as written; the label is what makes the API server send it (mutating-webhook.yaml's objectSelector)
  const pod = parseYaml(podYaml!) as { metadata: { labels?: Record<string, string> } };
  pod.metadata.labels = { [`${P}inject`]: 'true' };
  const r = await kubectlFile(['create'], file, pod);
  t.not(r.code, 0, 'denied');
  t.equal(r.stderr.trim(), answer!.trim().split('\n').join(' '), 'as docs/kubernetes.md prints it (there wrapped at spaces)');
  t.match(r.stderr, /2 problems: \(1\) .*secrte-jwt.*\(2\) .*no secret "jwt" is declared/, 'the unknown key and the undeclared secret in one answer');
  const apply = await kubectlFile(['apply'], file, pod);
  t.equal(apply.stderr.trim(), r.stderr.trim(), '`kubectl apply` of a new pod prints the same');
});

t.test('a typo in an annotation name: did you mean', async (t) => {
  t.equal(
    await denial('typo.yaml', { ...base, [`${P}vault-adress`]: 'https://vault:8200' }),
    `${prefix('typo.yaml')}${P}vault-adress: unknown annotation; did you mean ${P}vault-address? (see the erlmcp-secrets README for the full list)`,
  );
});

t.test('path traversal: template names and Vault paths', async (t) => {
  t.equal(
    await denial('dots.yaml', { ...base, [`${P}template-..env`]: 'X={{db.password}}' }),
    `${prefix('dots.yaml')}${P}template-..env: template name "..env" contains ".."; it must be a plain file name under the secrets volume`,
  );
  t.equal(
    await denial('vault-dots.yaml', { ...base, [`${P}secret-db`]: 'vault:secret/../sys/db' }),
    `${prefix('vault-dots.yaml')}${P}secret-db: Vault path "secret/../sys/db" has an empty, "." or ".." segment`,
  );
  const r = await kubectlFile(['create'], 'mount.yaml', injectPod('mount', 'erlmcp', { ...base, [`${P}volume-mount-path`]: '/var/run/secrets' }));
  t.match(r.stderr, /volume-mount-path: \/var\/run\/secrets would hide the service-account token directory/, 'a mount over the token directory');
});

t.test('a template using a secret that is not declared', async (t) => {
  t.equal(
    await denial('undeclared.yaml', { ...base, [`${P}template-api.env`]: 'API_KEY={{api.key}}' }),
    `${prefix('undeclared.yaml')}${P}template-api.env: {{api.key}} at line 1: no secret "api" is declared (declared: db)`,
  );
});

t.test('every problem in one answer', async (t) => {
  const msg = await denial('many.yaml', {
    ...base,
    [`${P}secrte-jwt`]: 'vault:secret/data/auth/jwt',
    [`${P}template-..env`]: 'X=1',
    [`${P}template-app.env`]: 'JWT={{jwt.secret}}',
    [`${P}mode`]: 'daemon',
  });
  t.ok(msg.startsWith(`${prefix('many.yaml')}4 problems: (1) `), msg);
  for (const part of ['secrte-jwt: unknown annotation', 'template-..env: template name "..env" contains ".."', 'mode: must be one of', 'template-app.env: {{jwt.secret}} at line 1: no secret "jwt" is declared']) {
    t.ok(msg.includes(part), part);
  }
  t.equal(msg.split('\n').length, 1, 'one line');
});

t.test('--dry-run=server: the patched pod without creating it, and the same denials', async (t) => {
  const out = await kubectlFile(['create', '--dry-run=server', '-o', 'json'], 'dry.yaml', injectPod('dry', 'erlmcp', base));
  t.equal(out.code, 0, out.stderr);
  const pod = JSON.parse(out.stdout) as PodJson;
  t.same(containerNames(pod), { init: ['erlmcp-secrets'], app: ['erlmcp'] }, 'the dry run shows the injected agent');
  t.equal(pod.metadata.annotations?.[`${P}status`], 'injected');
  const get = await k.kubectl(['-n', 'erlmcp', 'get', 'pod', 'dry']);
  t.match(get.stderr, /NotFound/, 'nothing was created');
  t.ok(wh.proc.logs.some((l) => l.pod === 'dry' && l.dryRun === true && l.msg === 'injecting erlmcp-secrets'), 'the webhook was told it was a dry run');
  const bad = await kubectlFile(['create', '--dry-run=server'], 'dry-bad.yaml', injectPod('dry-bad', 'erlmcp', { ...base, [`${P}vault-adress`]: 'x' }));
  t.not(bad.code, 0);
  t.match(bad.stderr.trim(), `${prefix('dry-bad.yaml')}${P}vault-adress: unknown annotation`, 'a dry run is denied as the real create');
});

t.test('a Deployment with a bad template: applied, and its pods denied in the ReplicaSet events', async (t) => {
  const pod = injectPod('x', 'erlmcp', { ...base, [`${P}template-api.env`]: 'API_KEY={{api.key}}' });
  const meta = pod.metadata as { labels: Record<string, string>; annotations: Record<string, string> };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'denied', namespace: 'erlmcp' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'denied' } }, template: { metadata: { labels: { ...meta.labels, app: 'denied' }, annotations: meta.annotations }, spec: pod.spec } },
  };
  const r = await kubectlFile(['apply'], 'deployment.yaml', deployment);
  t.equal(r.code, 0, '`kubectl apply` of the Deployment succeeds: the webhook only sees pods');
  let events: Array<{ reason: string; message: string; involvedObject: { kind: string } }> = [];
  await waitFor(
    async () => (events = (await k.getJson<{ items: typeof events }>(['events', '-n', 'erlmcp', '--field-selector', 'reason=FailedCreate'])).items).length > 0,
    'a FailedCreate event',
    120_000,
  );
  t.equal(events[0]!.involvedObject.kind, 'ReplicaSet', 'kubectl describe replicaset shows it');
  t.match(events[0]!.message, `${DENIED}${P}template-api.env: {{api.key}} at line 1: no secret "api" is declared (declared: db)`);
  t.same((await k.getJson<{ items: unknown[] }>(['pods', '-n', 'erlmcp', '-l', 'app=denied'])).items, [], 'no pod');
});

t.test('pods that do not ask for injection pass untouched', async (t) => {
  const labelOnly = injectPod('label-only', 'erlmcp', {});
  delete (labelOnly.metadata as { annotations?: unknown }).annotations;
  const a = JSON.parse(await k.kubectlOk(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(labelOnly) })) as PodJson;
  t.same(containerNames(a), { init: [], app: ['erlmcp'] }, 'labelled, without the annotation');
  const off = JSON.parse(await k.kubectlOk(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(injectPod('off', 'erlmcp', { [`${P}inject`]: 'false', [`${P}bogus`]: 'x' })) })) as PodJson;
  t.same(containerNames(off), { init: [], app: ['erlmcp'] }, 'inject "false", even with a wrong annotation');
});
