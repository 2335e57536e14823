// Injection through a real API server (test/helpers/kube-cluster.ts): every
// example manifest in examples/kubernetes/ applied with kubectl, every mode,
// the `restricted` Pod Security namespace the examples create, and the two
// admission defects of issue 14 that only a real API server shows (a file:
// reference to a mounted Secret's directory; a ResourceQuota on limits.cpu,
// with and without a LimitRange). The webhook is the built bundle on
// 127.0.0.1, registered by examples/kubernetes/mutating-webhook.yaml with its
// clientConfig pointed at it.

import t, { type Test } from 'tap';
import path from 'node:path';
import { certManagerCrds, startKubeCluster, waitFor } from '../helpers/kube-cluster.ts';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_RESOURCES } from '../../agent/webhook/webhook-config.ts';
import { agentConfigIn, containerNames, EXAMPLES, exampleWebhookConfigText, injectPod, registerWebhook, startLocalWebhook, type Container, type PodJson } from '../helpers/kube-webhook.ts';

t.setTimeout(900_000);

const P = 'secrets.erlmcp.io/';
const k = await startKubeCluster(t);
t.comment(`cluster ready in ${k.startMs} ms`);
// The example webhook config, without its agent.resources: those spell out the
// built-in defaults (checked below), and issue 14's quota defect was in the
// defaults, so the pods here get what a config without resources gives.
const exampleConfig = parseYaml(exampleWebhookConfigText()) as { agent: { resources?: unknown } };
const exampleResources = exampleConfig.agent.resources;
delete exampleConfig.agent.resources;
const wh = await startLocalWebhook(t, stringifyYaml(exampleConfig));

const ex = (file: string) => path.join(EXAMPLES, file);
const podsOf = async (ns: string, selector: string): Promise<PodJson[]> => (await k.getJson<{ items: PodJson[] }>(['pods', '-n', ns, '-l', selector])).items;
const waitPods = async (ns: string, selector: string, n: number): Promise<PodJson[]> => {
  let pods: PodJson[] = [];
  await waitFor(async () => (pods = await podsOf(ns, selector)).length >= n, `${n} pod(s) ${selector} in ${ns}`, 120_000);
  return pods;
};
const create = async (pod: Record<string, unknown>): Promise<PodJson> => JSON.parse(await k.kubectlOk(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(pod) })) as PodJson;
const agentOf = (pod: PodJson, name = 'erlmcp-secrets'): Container => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name)!;

/** what every injected pod has, whatever the mode */
function checkInjected(t: Test, pod: PodJson, what: string): void {
  t.equal(pod.metadata.annotations?.[`${P}status`], 'injected', `${what}: marked injected`);
  const vol = pod.spec.volumes?.find((v) => v.name === 'erlmcp-secrets');
  t.match(vol, { emptyDir: { medium: 'Memory' } }, `${what}: the tmpfs volume`);
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c) => c.name.startsWith('erlmcp-secrets'))) {
    t.ok(c.resources?.limits?.cpu && c.resources.limits.memory && c.resources.requests?.cpu && c.resources.requests.memory, `${what}: ${c.name} has CPU and memory requests and limits`);
  }
}

t.test("the example webhook config's agent resources are the built-in defaults", async (t) => {
  t.same(exampleResources, DEFAULT_RESOURCES);
});

t.test('the example manifests apply, in the order docs/kubernetes.md gives', async (t) => {
  for (const f of ['namespace.yaml', 'webhook-rbac.yaml', 'webhook-config.yaml', 'webhook-deployment.yaml']) {
    t.match(await k.kubectlOk(['apply', '-f', ex(f)]), /(created|configured)/, f);
  }
  // cert-manager.yaml against cert-manager's own CRDs: the API server checks every field
  // against their schemas (no cert-manager controller runs: nothing gets issued)
  for (const crd of certManagerCrds()) await k.kubectlOk(['apply', '--server-side', '-f', crd]);
  await k.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/issuers.cert-manager.io', 'crd/certificates.cert-manager.io']);
  const cm = await k.kubectlOk(['apply', '-f', ex('cert-manager.yaml')]);
  t.match(cm, /issuer.cert-manager.io\/erlmcp-secrets-selfsigned created/, 'cert-manager.yaml');
  t.equal((await k.getJson<{ items: unknown[] }>(['certificates.cert-manager.io', '-n', 'erlmcp-secrets'])).items.length, 2, 'both Certificates stored');
  // the webhook's own pods are created under `restricted` in its namespace (no kubelet: they stay Pending)
  const own = await waitPods('erlmcp-secrets', 'app.kubernetes.io/name=erlmcp-secrets-webhook', 2);
  t.equal(own.length, 2, 'webhook-deployment.yaml: 2 replicas admitted under Pod Security restricted');
  t.notOk(own[0]!.metadata.annotations?.[`${P}status`], 'the webhook never injects its own pods');
  await registerWebhook(k, wh);
  t.pass('mutating-webhook.yaml registered (clientConfig: the local webhook)');
  await waitFor(async () => (await k.kubectl(['-n', 'erlmcp', 'get', 'sa', 'default'])).code === 0, 'namespace erlmcp ready', 60_000);
});

t.test('erlmcp-deployment.yaml: 2 pods with the native sidecar, admitted under restricted', async (t) => {
  await k.kubectlOk(['apply', '-f', ex('erlmcp-deployment.yaml')]);
  const pods = await waitPods('erlmcp', 'app.kubernetes.io/name=erlmcp', 2);
  t.equal(pods.length, 2, 'the ReplicaSet made both pods');
  for (const pod of pods) {
    checkInjected(t, pod, pod.metadata.name);
    t.same(containerNames(pod), { init: ['erlmcp-secrets'], app: ['erlmcp'] }, 'one native sidecar');
    const agent = agentOf(pod);
    t.equal(agent.restartPolicy, 'Always', 'a native sidecar (init container, restartPolicy Always)');
    t.same(agent.args?.[0], 'run');
    t.equal(agent.securityContext?.runAsUser, 1000, "the agent runs as the app's uid");
    const cfg = agentConfigIn(pod, 'erlmcp-secrets');
    t.match(cfg, { secrets: { db: { provider: 'vault', path: 'secret/data/database/erlmcp' }, cookie: { provider: 'vault' }, jwt: { provider: 'vault' } } });
    t.match(cfg, { providers: { vault: { address: 'https://vault.vault.svc:8200', auth: { method: 'kubernetes', role: 'erlmcp' } } } });
    const mount = pod.spec.containers[0]!.volumeMounts?.find((m) => m.name === 'erlmcp-secrets');
    t.same(mount, { name: 'erlmcp-secrets', mountPath: '/run/secrets/erlmcp', readOnly: true }, 'the app reads the secrets read-only');
    t.ok(pod.spec.volumes?.some((v) => v.name.startsWith('kube-api-access-')), 'the ServiceAccount plugin ran before the webhook; its token volume is kept');
  }
});

t.test('erlmcp-exec.yaml: the binary copied in and the command wrapped', async (t) => {
  await k.kubectlOk(['apply', '-f', ex('erlmcp-exec.yaml')]);
  const [pod] = await waitPods('erlmcp', 'app.kubernetes.io/name=erlmcp-exec', 1);
  checkInjected(t, pod!, 'exec');
  t.same(containerNames(pod!), { init: ['erlmcp-secrets-copy'], app: ['erlmcp'] });
  const app = pod!.spec.containers[0]!;
  t.same([...(app.command ?? []), ...(app.args ?? [])], ['/erlmcp-secrets/bin/erlmcp-secrets', 'exec', '--', '/opt/erlmcp/bin/erlmcp', 'foreground']);
  t.match(agentConfigIn(pod!, 'erlmcp'), { exec: { env: { ERLMCP_DB_PASSWORD: '{{db.password}}' } } });
});

t.test('erlmcp-job.yaml: both Jobs make injected pods; sidecar mode turns on /quit', async (t) => {
  await k.kubectlOk(['apply', '-f', ex('erlmcp-job.yaml')]);
  const pods = await waitPods('erlmcp', 'app.kubernetes.io/name=erlmcp-db-migrate', 2);
  const native = pods.find((p) => p.metadata.name.startsWith('erlmcp-db-migrate-') && !p.metadata.name.startsWith('erlmcp-db-migrate-legacy'))!;
  const legacy = pods.find((p) => p.metadata.name.startsWith('erlmcp-db-migrate-legacy'))!;
  checkInjected(t, native, 'native Job');
  checkInjected(t, legacy, 'sidecar Job');
  t.same(containerNames(native), { init: ['erlmcp-secrets'], app: ['migrate'] });
  t.same(containerNames(legacy), { init: ['erlmcp-secrets-init'], app: ['migrate', 'erlmcp-secrets'] });
  t.match(agentConfigIn(legacy, 'erlmcp-secrets'), { server: { quit: true } }, 'POST /quit allowed for the Job');
});

t.test('every mode, one pod each, in the restricted namespace', async (t) => {
  const base = { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' };
  const cases: Array<[string, Record<string, string>, { init: string[]; app: string[] }]> = [
    ['native-sidecar', {}, { init: ['erlmcp-secrets'], app: ['erlmcp'] }],
    ['sidecar', { [`${P}mode`]: 'sidecar' }, { init: ['erlmcp-secrets-init'], app: ['erlmcp', 'erlmcp-secrets'] }],
    ['init-only', { [`${P}mode`]: 'init-only' }, { init: ['erlmcp-secrets-init'], app: ['erlmcp'] }],
    ['pre-populate-only', { [`${P}pre-populate-only`]: 'true' }, { init: ['erlmcp-secrets-init'], app: ['erlmcp'] }],
  ];
  for (const [mode, ann, names] of cases) {
    const pod = await create(injectPod(`mode-${mode}`, 'erlmcp', { ...base, ...ann }));
    checkInjected(t, pod, mode);
    t.same(containerNames(pod), names, `${mode}: containers`);
  }
  const exec = await create(injectPod('mode-exec', 'erlmcp', { [`${P}mode`]: 'exec', [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}env-PGPASSWORD`]: '{{db.password}}' }));
  checkInjected(t, exec, 'exec');
  t.same(containerNames(exec), { init: ['erlmcp-secrets-copy'], app: ['erlmcp'] }, 'exec: containers');
  // the same pods without a securityContext: restricted refuses the app container, not ours
  const bare = injectPod('bare', 'erlmcp', base, { securityContext: undefined });
  (bare.spec as { containers: Array<Record<string, unknown>> }).containers[0]!.securityContext = undefined;
  const r = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(bare) });
  t.not(r.code, 0, 'an app without the restricted settings is refused');
  t.match(r.stderr, /violates PodSecurity "restricted:latest"/);
  t.match(r.stderr, /container "erlmcp"/, 'the refusal names the app container');
  t.notMatch(r.stderr, /erlmcp-secrets/, 'and none of ours');
});

const CANARY = 'canary-7f3c91e2-never-in-a-pod-spec';

t.test('issue 14 (1): file: reference to a mounted Secret directory, mounted at exactly that path', async (t) => {
  await k.apply(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'erlmcp-db', namespace: 'erlmcp' }, stringData: { username: 'erlmcp', password: CANARY } }));
  const pod = injectPod('file-secret', 'erlmcp', { [`${P}secret-db`]: 'file:/etc/erlmcp/k8s-secrets/db', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' }, {
    volumes: [{ name: 'db-secret', secret: { secretName: 'erlmcp-db' } }],
  });
  const spec = pod.spec as { containers: Array<Record<string, unknown>> };
  spec.containers[0]!.volumeMounts = [{ name: 'db-secret', mountPath: '/etc/erlmcp/k8s-secrets/db', readOnly: true }];
  const r = await k.kubectl(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(pod) });
  t.equal(r.code, 0, `admitted (before the fix: "... is not on any volume the pod's containers mount"): ${r.stderr}`);
  if (r.code !== 0) return;
  const created = JSON.parse(r.stdout) as PodJson;
  checkInjected(t, created, 'file:');
  t.match(agentOf(created).volumeMounts, [{ name: 'erlmcp-secrets' }, { name: 'db-secret', mountPath: '/etc/erlmcp/k8s-secrets/db', readOnly: true }], 'the agent gets the same mount');
  t.notOk(JSON.stringify(created).includes(CANARY), "the Secret's value is nowhere in the pod: the webhook only names where it is");
  t.notOk(wh.proc.stderr().includes(CANARY), "nor in the webhook's logs");
  t.match(agentConfigIn(created, 'erlmcp-secrets'), { providers: { 'file-db': { type: 'file', path: '/etc/erlmcp/k8s-secrets' } }, secrets: { db: { provider: 'file-db', path: 'db' } } });
});

/** the app container with the limits a quota on limits.* makes every container spell out */
const withLimits = (name: string, ns: string): Record<string, unknown> => {
  const pod = injectPod(name, ns, { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' });
  (pod.spec as { containers: Array<Record<string, unknown>> }).containers[0]!.resources = { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '500m', memory: '512Mi' } };
  return pod;
};

/** a namespace with a ResourceQuota `compute` (and a LimitRange `defaults`), once the quota counts */
async function quotaNamespace(ns: string, hard: Record<string, string>, limitRange?: Record<string, unknown>): Promise<void> {
  await k.namespace(ns);
  if (limitRange) await k.apply(JSON.stringify({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'defaults', namespace: ns }, spec: { limits: [limitRange] } }));
  await k.apply(JSON.stringify({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'compute', namespace: ns }, spec: { hard } }));
  // the quota controller must have computed the quota's status, else admission refuses every pod
  await waitFor(async () => Boolean((await k.getJson<{ status?: { hard?: object } }>(['resourcequota', 'compute', '-n', ns])).status?.hard), `the quota in ${ns}`, 60_000);
}

t.test('issue 14 (3): a namespace with a ResourceQuota on limits.cpu and limits.memory admits injected pods', async (t) => {
  await quotaNamespace('quota', { 'requests.cpu': '2', 'requests.memory': '2Gi', 'limits.cpu': '4', 'limits.memory': '4Gi', pods: '10' });
  for (const mode of ['native-sidecar', 'sidecar', 'exec']) {
    const pod = withLimits(`quota-${mode}`, 'quota');
    const ann = (pod.metadata as { annotations: Record<string, string> }).annotations;
    ann[`${P}mode`] = mode;
    if (mode === 'exec') {
      delete ann[`${P}template-db.env`];
      ann[`${P}env-PGPASSWORD`] = '{{db.password}}';
    }
    const r = await k.kubectl(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(pod) });
    t.equal(r.code, 0, `${mode}: admitted under the quota (before the fix: "must specify limits.cpu for: erlmcp-secrets"): ${r.stderr}`);
  }
  // what the quota counted: the app's 500m per pod plus the agent's default 100m limit per agent container
  await waitFor(async () => (await k.getJson<{ status: { used?: Record<string, string> } }>(['resourcequota', 'compute', '-n', 'quota'])).status.used?.pods === '3', 'quota usage', 60_000);
  const used = (await k.getJson<{ status: { used: Record<string, string> } }>(['resourcequota', 'compute', '-n', 'quota'])).status.used;
  // a pod's limit: its app containers plus native sidecars, or its largest plain init container if
  // that is more. native-sidecar: 500m + 100m; sidecar: 500m + 100m (the run container); exec: 500m
  t.equal(used['limits.cpu'], '1700m', "limits.cpu counts the agent's default 100m limit");
  t.equal(used['limits.memory'], `${3 * 512 + 2 * 128}Mi`, "limits.memory counts the agent's default 128Mi limit");
});

t.test('a namespace with a LimitRange and a ResourceQuota', async (t) => {
  await quotaNamespace('limited', { 'limits.cpu': '2', 'limits.memory': '2Gi' }, {
    type: 'Container',
    default: { cpu: '300m', memory: '256Mi' },
    defaultRequest: { cpu: '50m', memory: '64Mi' },
    max: { cpu: '1', memory: '1Gi' },
    min: { cpu: '5m', memory: '32Mi' },
  });
  // the app container says nothing: the LimitRange gives it its defaults; ours come from the webhook
  const pod = injectPod('limited', 'limited', { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' });
  const created = await create(pod);
  checkInjected(t, created, 'LimitRange');
  t.same(created.spec.containers[0]!.resources, { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '300m', memory: '256Mi' } }, "the app gets the LimitRange's defaults");
  t.same(agentOf(created).resources, { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } }, "the agent keeps the webhook's (within the LimitRange's min and max)");
  // an agent limit above the LimitRange's max is refused by the API server, naming our container
  const big = injectPod('too-big', 'limited', { [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'X={{db.password}}', [`${P}cpu-limit`]: '2' });
  const r = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(big) });
  t.not(r.code, 0, 'refused');
  t.match(r.stderr, /maximum cpu usage per Container is 1, but limit is 2/, 'by the LimitRange, after the webhook set the limit the annotation asked for');
});
