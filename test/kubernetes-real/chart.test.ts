// The Helm chart (charts/erlmcp-secrets) installed into a real API server
// (test/helpers/kube-cluster.ts) with the pinned helm, as an operator does:
//
// 1. the default in-cluster mode in a namespace under Pod Security
//    `restricted`: every object accepted, the controller-manager makes the
//    webhook's pods (Pending: no kubelet) and they are admitted; `helm
//    upgrade` keeps the generated CA and certificate (the chart's `lookup`
//    against a real API server); `helm uninstall` leaves no webhook
//    configuration behind, which with failurePolicy Fail would refuse every
//    labelled pod. With cert-manager: its Issuers and Certificates accepted
//    by cert-manager's own CRD schemas.
// 2. url mode: the webhook outside the cluster (the built bundle on
//    127.0.0.1, started from the webhook.yaml the chart put in its
//    ConfigMap): pods get the images the values name, the release's own
//    namespace is never sent, and a denial reaches kubectl.

import t, { type Test } from 'tap';
import { X509Certificate } from 'node:crypto';
import { CHART, helm, helmPath, INSTALL_HELM } from '../helpers/helm.ts';
import { certManagerCrds, freePort, startKubeCluster, waitFor, type KubeCluster } from '../helpers/kube-cluster.ts';
import { containerNames, injectPod, makeWebhookCerts, startLocalWebhook, type Container, type PodJson } from '../helpers/kube-webhook.ts';
import { missingTool } from '../helpers/require-tool.ts';

t.setTimeout(600_000);

const missingHelm = missingTool(helmPath(), ['version'], INSTALL_HELM);
if (missingHelm !== undefined) throw new Error(missingHelm);

const P = 'secrets.erlmcp.io/';
const RELEASE = 'erlmcp-secrets';
const NS = 'erlmcp-secrets';
const WEBHOOK = `${RELEASE}-webhook`;
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;
const RESTRICTED = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' };

const k = await startKubeCluster(t);
t.comment(`cluster ready in ${k.startMs} ms`);
await k.namespace(NS, RESTRICTED);
await k.namespace('apps', RESTRICTED);

/** helm against the test cluster; must exit 0; its stdout and stderr */
function helmOk(args: string[]): { stdout: string; stderr: string } {
  const r = helm([...args, '--kubeconfig', k.kubeconfig, '--namespace', NS]);
  if (r.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r;
}

interface Obj {
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}
interface Mwc extends Obj {
  webhooks: Array<{ failurePolicy: string; clientConfig: { url?: string; caBundle?: string; service?: { name: string; namespace: string; path: string; port: number } }; namespaceSelector: { matchExpressions: Array<{ key: string; operator: string; values: string[] }> } }>;
}
interface Secret extends Obj {
  data: Record<string, string>;
}

const KINDS = 'deployment,service,serviceaccount,poddisruptionbudget,secret,configmap';
const released = async (kc: KubeCluster): Promise<Obj[]> => (await kc.getJson<{ items: Obj[] }>([KINDS, '-n', NS, '-l', INSTANCE])).items;
const mwcs = async (): Promise<Mwc[]> => (await k.getJson<{ items: Mwc[] }>(['mutatingwebhookconfigurations', '-l', INSTANCE])).items;
const deployment = () => k.getJson<{ metadata: { generation: number }; spec: { template: { spec: { containers: Container[] } } } }>(['deployment', '-n', NS, WEBHOOK]);
const kindsOf = (objs: Obj[]): string[] => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
const create = async (pod: Record<string, unknown>): Promise<PodJson> => JSON.parse(await k.kubectlOk(['create', '-o', 'json', '-f', '-'], { stdin: JSON.stringify(pod) })) as PodJson;
const agentOf = (pod: PodJson, name: string): Container | undefined => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => c.name === name);
const base = { [`${P}vault-address`]: 'https://vault.vault.svc:8200', [`${P}role`]: 'erlmcp', [`${P}secret-db`]: 'vault:secret/data/database/erlmcp', [`${P}template-db.env`]: 'PGPASSWORD={{db.password}}' };

await t.test('in-cluster mode: helm install, upgrade and uninstall against the real API server', async (t) => {
  const install = helmOk(['install', RELEASE, CHART]);
  t.match(install.stdout, /STATUS: deployed/, 'helm install: deployed');
  // helm relays the API server's warnings on stderr: "would violate PodSecurity" for a
  // Deployment whose pods `restricted` would refuse, deprecated APIs, unknown fields
  t.notMatch(install.stderr, /Warning/, 'no warning from the API server (Pod Security restricted, deprecations, unknown fields)');

  await t.test('every object is stored', async (t) => {
    const objs = await released(k);
    t.same(
      kindsOf(objs),
      [`ConfigMap/${WEBHOOK}`, `Deployment/${WEBHOOK}`, `PodDisruptionBudget/${WEBHOOK}`, `Secret/${WEBHOOK}-tls`, `Service/${WEBHOOK}`, `ServiceAccount/${WEBHOOK}`].sort(),
      'ConfigMap, Deployment, PDB, generated Secret, Service, ServiceAccount',
    );
    const [mwc] = await mwcs();
    t.ok(mwc, 'the MutatingWebhookConfiguration');
    const hook = mwc!.webhooks[0]!;
    t.same(hook.clientConfig.service, { name: WEBHOOK, namespace: NS, path: '/mutate', port: 443 }, 'it calls the Service the chart made');
    t.equal(hook.failurePolicy, 'Fail');
    t.ok(hook.namespaceSelector.matchExpressions.some((e) => e.operator === 'NotIn' && e.values.includes(NS)), 'the release namespace is excluded');
    const secret = objs.find((o) => o.kind === 'Secret') as Secret;
    t.equal(hook.clientConfig.caBundle, secret.data['ca.crt'], "caBundle is the generated Secret's CA");
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt']!, 'base64'));
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt']!, 'base64'));
    t.ok(cert.verify(ca.publicKey), 'the serving certificate is signed by that CA');
    t.ok(cert.checkHost(`${WEBHOOK}.${NS}.svc`), 'and names the Service the API server calls');
  });

  await t.test("the controller-manager makes the webhook's pods, admitted under restricted", async (t) => {
    let pods: PodJson[] = [];
    await waitFor(async () => (pods = (await k.getJson<{ items: PodJson[] }>(['pods', '-n', NS, '-l', INSTANCE])).items).length >= 2, 'the webhook pods', 120_000);
    t.equal(pods.length, 2, 'replicas: 2');
    for (const pod of pods) {
      const spec = pod.spec as PodJson['spec'] & { securityContext?: Record<string, unknown>; automountServiceAccountToken?: boolean };
      t.match(spec.securityContext, { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, `${pod.metadata.name}: restricted pod securityContext`);
      t.same(containerNames(pod), { init: [], app: ['webhook'] });
      t.match(pod.spec.containers[0]!.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, 'restricted container securityContext');
      t.equal(pod.spec.containers[0]!.image, `ghcr.io/erlmcp/erlmcp-secrets:${chartAppVersion()}`, "the values' default image");
      t.notOk(pod.spec.volumes?.some((v) => v.name.startsWith('kube-api-access-')), 'no API token mounted');
      t.notOk(pod.metadata.annotations?.[`${P}status`], 'not injected');
    }
    const rs = await k.kubectlOk(['-n', NS, 'get', 'events', '--field-selector', 'reason=FailedCreate', '-o', 'name']);
    t.equal(rs.trim(), '', 'no FailedCreate event');
  });

  await t.test('the webhook configuration is in force: a labelled pod elsewhere is refused while no webhook pod serves', async (t) => {
    const r = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(injectPod('while-installed', 'apps', base)) });
    t.not(r.code, 0, 'refused (failurePolicy Fail, no endpoint: no kubelet runs the pods)');
    t.match(r.stderr, /failed calling webhook "inject\.secrets\.erlmcp\.io": .*no endpoints available for service "erlmcp-secrets-webhook"/, 'the API server looked for the Service the chart made');
  });

  await t.test('helm upgrade keeps the generated CA and certificate', async (t) => {
    const before = (await k.getJson<Secret>(['secret', '-n', NS, `${WEBHOOK}-tls`])).data;
    const caBefore = (await mwcs())[0]!.webhooks[0]!.clientConfig.caBundle;
    const up = helmOk(['upgrade', RELEASE, CHART, '--set', 'webhook.logLevel=debug']);
    t.match(up.stdout, /REVISION: 2/, 'revision 2');
    const after = (await k.getJson<Secret>(['secret', '-n', NS, `${WEBHOOK}-tls`])).data;
    t.same(after, before, "the Secret's ca.crt, tls.crt and tls.key are unchanged");
    t.equal((await mwcs())[0]!.webhooks[0]!.clientConfig.caBundle, caBefore, 'the caBundle is unchanged');
    const dep = await deployment();
    t.ok(dep.spec.template.spec.containers[0]!.args?.includes('--log-level=debug'), 'the upgrade did change the Deployment');
    helmOk(['upgrade', RELEASE, CHART, '--reuse-values']);
    t.equal((await deployment()).metadata.generation, dep.metadata.generation, 'an upgrade that changes nothing rolls no pods (the generated certificate is not re-rendered into the pod template)');
  });

  await t.test('deleting the Secret and upgrading issues a new CA, and the caBundle follows', async (t) => {
    const before = (await k.getJson<Secret>(['secret', '-n', NS, `${WEBHOOK}-tls`])).data;
    await k.kubectlOk(['-n', NS, 'delete', 'secret', `${WEBHOOK}-tls`]);
    helmOk(['upgrade', RELEASE, CHART, '--reuse-values']);
    const after = (await k.getJson<Secret>(['secret', '-n', NS, `${WEBHOOK}-tls`])).data;
    t.not(after['ca.crt'], before['ca.crt'], 'a new CA');
    t.not(after['tls.key'], before['tls.key'], 'a new key');
    t.equal((await mwcs())[0]!.webhooks[0]!.clientConfig.caBundle, after['ca.crt'], "the caBundle is the new Secret's CA");
  });

  await t.test('helm uninstall leaves no webhook configuration behind', async (t) => {
    helmOk(['uninstall', RELEASE]);
    t.same(await mwcs(), [], 'no MutatingWebhookConfiguration');
    t.same(kindsOf(await released(k)), [], 'no object of the release');
    const pod = await create(injectPod('after-uninstall', 'apps', base));
    t.same(containerNames(pod), { init: [], app: ['erlmcp'] }, 'a labelled pod is admitted again, unmutated');
  });
});

await t.test("cert-manager mode: the chart's Issuers and Certificates accepted by cert-manager's own CRD schemas", async (t) => {
  // the CRDs only: the API server checks every field against their schemas; no
  // cert-manager controller runs, so nothing gets issued
  for (const crd of certManagerCrds()) await k.kubectlOk(['apply', '--server-side', '-f', crd]);
  await k.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/issuers.cert-manager.io', 'crd/certificates.cert-manager.io']);
  helmOk(['install', RELEASE, CHART, '--set', 'certificates.certManager.enabled=true']);
  const issuers = (await k.getJson<{ items: Obj[] }>(['issuers.cert-manager.io', '-n', NS, '-l', INSTANCE])).items;
  const certs = (await k.getJson<{ items: Obj[] }>(['certificates.cert-manager.io', '-n', NS, '-l', INSTANCE])).items;
  t.same(kindsOf(issuers), [`Issuer/${WEBHOOK}-ca`, `Issuer/${WEBHOOK}-selfsigned`], 'the self-signed root and the CA Issuer');
  t.same(kindsOf(certs), [`Certificate/${WEBHOOK}`, `Certificate/${WEBHOOK}-ca`], 'the CA and serving Certificates');
  t.notOk(kindsOf(await released(k)).some((o) => o.startsWith('Secret/')), 'no Secret from the chart: cert-manager writes it');
  const [mwc] = await mwcs();
  t.equal(mwc?.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/${WEBHOOK}`, "the CA injector is told the serving Certificate's name");
  t.equal(mwc?.webhooks[0]!.clientConfig.caBundle, undefined, 'caBundle left to the injector');
  helmOk(['uninstall', RELEASE]);
  t.same(await mwcs(), [], 'uninstalled: no MutatingWebhookConfiguration');
});

await t.test('url mode: the webhook outside the cluster, started from the chart\'s ConfigMap', async (t) => {
  const certs = makeWebhookCerts(t);
  const port = await freePort();
  const images = { agent: 'registry.example.com/team/erlmcp-secrets:1.2.3', binary: 'registry.example.com/team/erlmcp-secrets-bin:1.2.3-binary' };
  const [agentRepo, agentTag] = images.agent.split(/:(?=[^:]+$)/);
  const [binRepo, binTag] = images.binary.split(/:(?=[^:]+$)/);
  helmOk([
    'install',
    RELEASE,
    CHART,
    '--set',
    `webhook.url=https://127.0.0.1:${port}/mutate`,
    '--set',
    `webhook.caBundle=${Buffer.from(certs.caPem).toString('base64')}`,
    '--set',
    `image.agent.repository=${agentRepo},image.agent.tag=${agentTag},image.binary.repository=${binRepo},image.binary.tag=${binTag}`,
  ]);
  t.same(kindsOf(await released(k)), [`ConfigMap/${WEBHOOK}`], 'only the ConfigMap in the namespace: no Deployment, Service or certificate');
  const [mwc] = await mwcs();
  t.same(mwc?.webhooks[0]!.clientConfig, { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(certs.caPem).toString('base64') });

  const cm = await k.getJson<{ data: Record<string, string> }>(['configmap', '-n', NS, WEBHOOK]);
  const wh = await startLocalWebhook(t, cm.data['webhook.yaml']!, [], { certs, port });
  t.teardown(() => wh.stop());

  await t.test('a labelled pod gets the images the values name', async (t) => {
    const native = await create(injectPod('chart-native', 'apps', base));
    t.equal(native.metadata.annotations?.[`${P}status`], 'injected');
    t.equal(agentOf(native, 'erlmcp-secrets')?.image, images.agent, 'the agent image (image.agent)');
    const { [`${P}template-db.env`]: _template, ...noTemplate } = base;
    const exec = await create(injectPod('chart-exec', 'apps', { ...noTemplate, [`${P}mode`]: 'exec', [`${P}env-PGPASSWORD`]: '{{db.password}}' }));
    t.equal(agentOf(exec, 'erlmcp-secrets-copy')?.image, images.binary, 'the copied executable image (image.binary)');
  });

  await t.test('a labelled pod in the release namespace is never sent', async (t) => {
    const before = await wh.admissions();
    t.equal(before.injected, 2, 'the webhook counted the two pods it injected');
    const pod = await create(injectPod('own-namespace', NS, base));
    t.same(containerNames(pod), { init: [], app: ['erlmcp'] }, 'unmutated');
    t.notOk(pod.metadata.annotations?.[`${P}status`]);
    t.same(await wh.admissions(), before, 'the webhook answered no admission for it');
  });

  await t.test('a denial comes back through kubectl', async (t) => {
    const r = await k.kubectl(['create', '-f', '-'], { stdin: JSON.stringify(injectPod('chart-typo', 'apps', { ...base, [`${P}vault-adress`]: 'https://vault:8200' })) });
    t.not(r.code, 0, 'refused');
    t.match(r.stderr, `admission webhook "inject.secrets.erlmcp.io" denied the request: erlmcp-secrets: ${P}vault-adress: unknown annotation; did you mean ${P}vault-address?`);
  });

  helmOk(['uninstall', RELEASE]);
  t.same(await mwcs(), [], 'uninstalled: no MutatingWebhookConfiguration');
});

function chartAppVersion(): string {
  const r = helm(['show', 'chart', CHART]);
  return /^appVersion: "?([^"\n]+)"?$/m.exec(r.stdout)![1]!;
}
