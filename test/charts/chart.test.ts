// charts/erlmcp-secrets through the pinned helm (test/setup/install-helm.sh):
// `helm lint --strict` and `helm template` with the default values and
// several value sets. Every rendered object is checked against the strict
// Kubernetes schema (cert-manager objects structurally), and for what the
// schema cannot see: the webhook's command exists in the image it names
// (from the Dockerfile's stages), its flags are ones `erlmcp-secrets webhook
// --help` lists, the pieces reference each other, the generated certificate
// covers the Service's DNS names and chains to the caBundle, and the
// rendered config and certificate actually run the webhook, which then
// injects the images the values name into an example pod.

import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { defaultWebhookConfig, DEFAULT_RESOURCES, parseWebhookConfig } from '../../agent/webhook/webhook-config.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { readDockerfile } from '../helpers/dockerfile.ts';
import { commandProblems, stageForImage, subcommandOf } from '../helpers/image-contents.ts';
import { hasSchema, SCHEMA_VERSIONS, validateK8s } from '../helpers/k8s-schema.ts';
import { certManagerProblems } from '../helpers/cert-manager-shape.ts';
import { restrictedProblems } from '../helpers/pod-semantics.ts';
import { CHART, helm, helmNotes, helmTemplate, NAMESPACE, RELEASE, requireHelm, type K8sObject } from '../helpers/helm.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { makeCertificate } from '../helpers/openssl-certs.ts';
import { applyResponse } from '../helpers/webhook-admit.ts';
import { startWebhookFromContainer } from '../helpers/webhook-from-manifest.ts';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const missing = requireHelm(t);
const df = readDockerfile(ROOT);
const chartYaml = parseYaml(readFileSync(path.join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string; version: string };
const APP = chartYaml.appVersion;
const WEBHOOK = `${RELEASE}-webhook`;
const DNS_NAMES = [WEBHOOK, `${WEBHOOK}.${NAMESPACE}`, `${WEBHOOK}.${NAMESPACE}.svc`, `${WEBHOOK}.${NAMESPACE}.svc.cluster.local`];
const SERVICE_HOST = `${WEBHOOK}.${NAMESPACE}.svc`;

const ca = makeCertificate({ days: 2, cn: 'out-of-cluster-ca' });
const VAULT = { address: 'https://vault.vault.svc:8200', role: 'erlmcp' };
const CUSTOM = { agent: 'registry.example.com/mirror/erlmcp-agent:9.9.9', binary: 'registry.example.com/mirror/erlmcp-agent-bin:9.9.9-binary' };

/** the value sets; each with what the rendered output must show */
const SETS: Record<string, unknown> = {
  default: {},
  'cert-manager': { certificates: { certManager: { enabled: true } } },
  'cert-manager, ClusterIssuer': { certificates: { certManager: { enabled: true, issuerRef: { kind: 'ClusterIssuer', name: 'corp-ca' } } } },
  'url (out of cluster)': { webhook: { url: 'https://127.0.0.1:18443/mutate', caBundle: Buffer.from(ca.certPem).toString('base64') } },
  'failurePolicy Ignore, label-selected namespaces': { webhook: { failurePolicy: 'Ignore', namespaceSelector: { matchLabels: { 'secrets.erlmcp.io/enabled': 'true' } } } },
  'custom images': {
    image: { agent: { repository: 'registry.example.com/mirror/erlmcp-agent', tag: '9.9.9' }, binary: { repository: 'registry.example.com/mirror/erlmcp-agent-bin', tag: '9.9.9-binary' } },
    defaults: { vault: VAULT },
  },
  'provider defaults': {
    defaults: {
      mode: 'sidecar',
      vault: { ...VAULT, authMount: 'k8s-east', namespace: 'team-a', caFile: '/erlmcp-secrets/tls/ca.crt', tlsSecret: 'vault-ca' },
      aws: { region: 'eu-west-1' },
      azure: { vaultUrl: 'https://erlmcp.vault.azure.net' },
      gcp: { project: 'erlmcp-prod' },
      agent: { resources: { limits: { cpu: '200m' } } },
    },
    webhook: { replicas: 3 },
  },
};

const rendered = new Map<string, K8sObject[]>();
/** each value set rendered once, on first use (subtests can run alone with --grep) */
const renderedOf = (name: string): K8sObject[] => {
  if (!rendered.has(name)) rendered.set(name, helmTemplate(SETS[name]).objects);
  return rendered.get(name)!;
};
const one = (objs: K8sObject[], kind: string): Any => {
  const found = objs.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0] as Any;
};
const webhookConfigOf = (objs: K8sObject[]) => parseWebhookConfig(parseYaml(one(objs, 'ConfigMap').data['webhook.yaml']), 'rendered webhook.yaml');

t.test('helm lint --strict passes with every value set', { skip: missing }, async (t) => {
  for (const [name, values] of Object.entries(SETS)) {
    const r = helm(['lint', '--strict', CHART], values);
    t.equal(r.status, 0, `${name}: ${r.stdout.split('\n').filter((l) => /\[(ERROR|WARNING)\]/.test(l)).join('; ') || 'lint clean'}${r.stderr.trim()}`);
  }
});

t.test('helm template renders every value set into valid objects', { skip: missing }, async (t) => {
  for (const name of Object.keys(SETS)) {
    const objects = renderedOf(name);
    t.ok(objects.length >= 2, `${name}: ${objects.map((o) => o.kind).join(', ')}`);
    for (const obj of objects) {
      const label = `${name}: ${obj.kind}/${obj.metadata.name}`;
      if (obj.apiVersion === 'cert-manager.io/v1') {
        t.same(certManagerProblems(obj), [], `${label}: cert-manager structure`);
        continue;
      }
      t.ok(hasSchema(obj.apiVersion, obj.kind), `${label}: has a Kubernetes schema`);
      for (const v of SCHEMA_VERSIONS) t.same(validateK8s(obj, v), [], `${label}: valid against Kubernetes ${v} (strict)`);
      if (obj.kind !== 'MutatingWebhookConfiguration') t.equal(obj.metadata.namespace, NAMESPACE, `${label}: in the release namespace`);
      t.notOk(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(obj.kind), `${label}: no RBAC (the webhook calls no API)`);
    }
  }
});

t.test('in-cluster webhook: Deployment, Service, PDB and webhook configuration fit together', { skip: missing }, async (t) => {
  const help = await runCli(['webhook', '--help']);
  t.equal(help.code, 0, 'webhook --help');
  const accepted = new Set([...help.stdout.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]));
  t.ok(accepted.has('--tls-cert') && accepted.has('--config'), `webhook --help lists its flags (${[...accepted].join(' ')})`);
  for (const name of Object.keys(SETS).filter((n) => !n.startsWith('url'))) {
    const objs = renderedOf(name);
    const dep = one(objs, 'Deployment');
    const pod = dep.spec.template;
    const c = pod.spec.containers[0];
    const values = SETS[name] as Any;
    t.ok(dep.spec.replicas >= 2, `${name}: ${dep.spec.replicas} replicas`);
    const anti = pod.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm;
    t.equal(anti?.topologyKey, 'kubernetes.io/hostname', `${name}: replicas prefer different nodes`);
    t.same(anti?.labelSelector?.matchLabels, dep.spec.selector.matchLabels, `${name}: ...the anti-affinity selects the webhook's own pods`);
    t.same(restrictedProblems(pod), [], `${name}: the webhook pods meet Pod Security "restricted"`);
    t.equal(pod.spec.automountServiceAccountToken, false, `${name}: no API token mounted`);
    t.equal(one(objs, 'ServiceAccount').automountServiceAccountToken, false);

    t.equal(c.image, values.image ? CUSTOM.agent : `ghcr.io/erlmcp/erlmcp-secrets:${APP}`, `${name}: the webhook runs the agent image from values`);
    t.same(commandProblems(df, c), [], `${name}: its command exists in that image (Dockerfile stage ${stageForImage(c.image)})`);
    t.equal(subcommandOf(df, c), 'webhook', `${name}: ...and runs the webhook subcommand`);
    const flags = (c.args as string[]).slice(1).map((a) => a.split('=')[0]!);
    t.same(flags.filter((f) => !accepted.has(f)), [], `${name}: every flag is one webhook --help lists (${flags.join(' ')})`);
    for (const probe of [c.readinessProbe, c.livenessProbe]) t.match(probe, { httpGet: { port: 'https', scheme: 'HTTPS' } });
    t.same([c.readinessProbe.httpGet.path, c.livenessProbe.httpGet.path], ['/readyz', '/healthz'], `${name}: probes on the webhook's health endpoints`);
    t.ok(c.resources.limits.memory && c.resources.requests.cpu, `${name}: the webhook has requests and limits`);
    t.notOk(c.volumeMounts.some((m: Any) => m.subPath), `${name}: no subPath mounts (they never see a renewed certificate)`);

    const svc = one(objs, 'Service');
    t.same(svc.spec.selector, dep.spec.selector.matchLabels, `${name}: the Service selects the webhook pods`);
    t.equal(svc.spec.ports[0].targetPort, 'https');
    t.ok(c.ports.some((p: Any) => p.name === 'https'), `${name}: the Service's target port exists`);
    const pdb = one(objs, 'PodDisruptionBudget');
    t.same(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels, `${name}: the PDB selects them too`);
    t.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < dep.spec.replicas, `${name}: a drain keeps ${pdb.spec.minAvailable} and can still move the rest`);

    const hook = one(objs, 'MutatingWebhookConfiguration').webhooks[0];
    t.match(hook, {
      name: 'inject.secrets.erlmcp.io',
      admissionReviewVersions: ['v1'],
      sideEffects: 'None',
      failurePolicy: values.webhook?.failurePolicy ?? 'Fail',
      reinvocationPolicy: 'IfNeeded',
      timeoutSeconds: 10,
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
      objectSelector: { matchLabels: { 'secrets.erlmcp.io/inject': 'true' } },
    }, `${name}: webhook settings`);
    t.same(hook.clientConfig.service, { name: svc.metadata.name, namespace: NAMESPACE, path: '/mutate', port: svc.spec.ports[0].port }, `${name}: the API server calls the Service`);
    t.notOk(dep.spec.template.metadata.labels?.['secrets.erlmcp.io/inject'], `${name}: the webhook's pods are not labelled for injection`);
    t.ok(hook.namespaceSelector.matchExpressions.some((e: Any) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn' && e.values.includes(NAMESPACE)), `${name}: ...and never sent from its own namespace`);
    if (values.webhook?.namespaceSelector?.matchLabels) t.same(hook.namespaceSelector.matchLabels, values.webhook.namespaceSelector.matchLabels, `${name}: the namespace labels from values`);

    const cfg = webhookConfigOf(objs);
    t.equal(cfg.agent.image, c.image, `${name}: the injected agent is the webhook's own image`);
    t.equal(cfg.agent.binaryImage, values.image ? CUSTOM.binary : `ghcr.io/erlmcp/erlmcp-secrets:${APP}-binary`, `${name}: exec mode copies the binary image from values`);
    t.equal(stageForImage(cfg.agent.binaryImage), 'runtime-binary');
    t.same(commandProblems(df, { name: 'copy', image: cfg.agent.binaryImage, args: ['copy-self', '/x'] }), [], `${name}: the binary image runs copy-self`);
    t.same(commandProblems(df, { name: 'agent', image: cfg.agent.image, args: ['run'] }), [], `${name}: the agent image runs the agent`);
    t.equal(cfg.listen, `0.0.0.0:${c.ports[0].containerPort}`, `${name}: the webhook listens on the container port`);
  }
});

t.test('the default values give the webhook its own defaults, and the injected resources of the agent', { skip: missing }, async (t) => {
  const cfg = webhookConfigOf(renderedOf('default'));
  const builtIn = defaultWebhookConfig();
  t.equal(cfg.agent.image, builtIn.agent.image, 'the chart\'s default agent image is the webhook\'s built-in default');
  t.equal(cfg.agent.binaryImage, builtIn.agent.binaryImage, '...and so is the binary image');
  t.same(cfg.agent.resources, DEFAULT_RESOURCES, 'injected containers: requests 10m/48Mi, limits 100m/128Mi');
  t.equal(cfg.vault.address, undefined, 'no Vault address unless one is given (pods must then say)');
  t.same([cfg.aws, cfg.azure, cfg.gcp], [{}, {}, {}]);
  t.equal(cfg.mode, 'native-sidecar');
  const full = webhookConfigOf(renderedOf('provider defaults'));
  t.match(full, {
    mode: 'sidecar',
    vault: { address: 'https://vault.vault.svc:8200', role: 'erlmcp', authMount: 'k8s-east', namespace: 'team-a', caFile: '/erlmcp-secrets/tls/ca.crt', tlsSecret: 'vault-ca' },
    aws: { region: 'eu-west-1' },
    azure: { vaultUrl: 'https://erlmcp.vault.azure.net' },
    gcp: { project: 'erlmcp-prod' },
  }, 'Vault, AWS, Azure and GCP defaults reach the webhook');
  t.same(full.agent.resources, { requests: DEFAULT_RESOURCES.requests, limits: { ...DEFAULT_RESOURCES.limits, cpu: '200m' } }, 'one resource changed, the others keep their defaults');
});

t.test('generated certificate: covers the Service DNS names, chains to the caBundle, and serves', { skip: missing }, async (t) => {
  for (const name of ['default', 'custom images', 'provider defaults']) {
    const objs = renderedOf(name);
    const secret = one(objs, 'Secret');
    const dep = one(objs, 'Deployment');
    const decode = (k: string): string => Buffer.from(secret.data[k], 'base64').toString('utf8');
    t.equal(secret.type, 'kubernetes.io/tls');
    t.equal(dep.spec.template.spec.volumes.find((v: Any) => v.name === 'tls').secret.secretName, secret.metadata.name, `${name}: the Deployment mounts the generated Secret`);
    const hook = one(objs, 'MutatingWebhookConfiguration').webhooks[0];
    t.equal(hook.clientConfig.caBundle, secret.data['ca.crt'], `${name}: caBundle is the generated CA`);
    const cert = new X509Certificate(decode('tls.crt'));
    const caCert = new X509Certificate(decode('ca.crt'));
    t.ok(cert.verify(caCert.publicKey), `${name}: the serving certificate is signed by that CA`);
    t.ok(cert.checkIssued(caCert), `${name}: ...and names it as issuer`);
    const sans = (cert.subjectAltName ?? '').split(', ').map((s) => s.replace(/^DNS:/, ''));
    t.same(sans.sort(), [...DNS_NAMES].sort(), `${name}: SANs are the Service's DNS names`);
    t.ok(cert.checkHost(SERVICE_HOST), `${name}: ...including ${SERVICE_HOST}, the name the API server uses`);
    t.ok(Date.parse(cert.validTo) - Date.now() > 365 * 86400_000, `${name}: valid for years (validityDays)`);
    t.ok(cert.checkPrivateKey((await import('node:crypto')).createPrivateKey(decode('tls.key'))), `${name}: tls.key belongs to tls.crt`);
  }

  // the real webhook with the rendered args, config and certificate; the API
  // server's view: CA from caBundle, host name from the Service
  for (const name of ['custom images', 'provider defaults']) {
    const objs = renderedOf(name);
    const secret = one(objs, 'Secret');
    const c = one(objs, 'Deployment').spec.template.spec.containers[0];
    const decode = (k: string): string => Buffer.from(secret.data[k], 'base64').toString('utf8');
    const running = await startWebhookFromContainer(c, {
      tls: { 'tls.crt': decode('tls.crt'), 'tls.key': decode('tls.key') },
      config: { 'webhook.yaml': one(objs, 'ConfigMap').data['webhook.yaml'] },
    });
    t.teardown(() => running.stop());
    const caPem = Buffer.from(one(objs, 'MutatingWebhookConfiguration').webhooks[0].clientConfig.caBundle, 'base64').toString('utf8');
    const cfg = webhookConfigOf(objs);
    for (const example of ['erlmcp-deployment.yaml', 'erlmcp-exec.yaml']) {
      const pod = examplePod(example);
      const response = await running.mutate(pod, { ca: caPem, serverName: SERVICE_HOST });
      t.equal(response.allowed, true, `${name}: ${example} admitted over HTTPS${response.status ? `: ${response.status.message}` : ''}`);
      const patched = applyResponse(pod, response).pod;
      const images = [...(patched.spec.initContainers ?? []), ...patched.spec.containers].filter((x) => x.name.startsWith('erlmcp-secrets')).map((x) => x.image);
      t.ok(images.length > 0, `${name}: ${example}: agent containers injected`);
      for (const image of images) t.ok(image === cfg.agent.image || image === cfg.agent.binaryImage, `${name}: ${example}: injected ${image}, an image from values`);
      if (example === 'erlmcp-exec.yaml') t.ok(images.includes(cfg.agent.binaryImage), `${name}: exec mode copies the binary image`);
    }
    await t.rejects(running.mutate(examplePod('erlmcp-deployment.yaml'), { ca: caPem, serverName: 'erlmcp-secrets-webhook.other-namespace.svc' }), /altnames|Hostname\/IP does not match/i, `${name}: a name the certificate does not cover is refused`);
  }
});

function examplePod(file: string): Pod {
  const text = readFileSync(path.join(ROOT, 'examples', 'kubernetes', file), 'utf8');
  const dep = parseAllDocuments(text).map((d) => d.toJS() as Any).find((o) => o.kind === 'Deployment')!;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { ...dep.spec.template.metadata, namespace: dep.metadata.namespace }, spec: structuredClone(dep.spec.template.spec) } as Pod;
}

t.test('cert-manager: the chart\'s own CA chain, or a given issuer, and CA injection', { skip: missing }, async (t) => {
  for (const name of ['cert-manager', 'cert-manager, ClusterIssuer']) {
    const objs = renderedOf(name);
    const certs = objs.filter((o) => o.kind === 'Certificate') as Any[];
    const serving = certs.find((c) => !c.spec.isCA)!;
    const mwc = one(objs, 'MutatingWebhookConfiguration');
    t.notOk(objs.some((o) => o.kind === 'Secret'), `${name}: the chart makes no certificate itself`);
    t.same([...serving.spec.dnsNames].sort(), [...DNS_NAMES].sort(), `${name}: the Certificate covers the Service's DNS names`);
    t.equal(mwc.metadata.annotations['cert-manager.io/inject-ca-from'], `${NAMESPACE}/${serving.metadata.name}`, `${name}: the CA injector is pointed at it`);
    t.equal(mwc.webhooks[0].clientConfig.caBundle, undefined, `${name}: caBundle left to the injector`);
    t.equal(one(objs, 'Deployment').spec.template.spec.volumes.find((v: Any) => v.name === 'tls').secret.secretName, serving.spec.secretName, `${name}: the Deployment mounts the Certificate's Secret`);
    t.match(serving.spec.renewBefore, /^\d+h$/, `${name}: renewed before it expires (${serving.spec.renewBefore})`);
  }
  const own = renderedOf('cert-manager');
  const issuers = own.filter((o) => o.kind === 'Issuer') as Any[];
  const caCert = own.find((o) => o.kind === 'Certificate' && (o as Any).spec.isCA) as Any;
  const caIssuer = issuers.find((i) => i.spec.ca)!;
  const selfSigned = issuers.find((i) => i.spec.selfSigned)!;
  t.equal(caCert.spec.issuerRef.name, selfSigned.metadata.name, 'self-signed root -> CA certificate');
  t.equal(caIssuer.spec.ca.secretName, caCert.spec.secretName, 'CA certificate -> CA issuer');
  t.equal((own.find((o) => o.kind === 'Certificate' && !(o as Any).spec.isCA) as Any).spec.issuerRef.name, caIssuer.metadata.name, 'CA issuer -> serving certificate');
  const given = renderedOf('cert-manager, ClusterIssuer');
  t.notOk(given.some((o) => o.kind === 'Issuer'), 'with issuerRef: no Issuers of the chart\'s own');
  t.match((given.find((o) => o.kind === 'Certificate') as Any).spec.issuerRef, { kind: 'ClusterIssuer', name: 'corp-ca', group: 'cert-manager.io' });
});

t.test('url mode: only the webhook configuration (and its config) for a webhook outside the cluster', { skip: missing }, async (t) => {
  const objs = renderedOf('url (out of cluster)');
  t.same(objs.map((o) => o.kind).sort(), ['ConfigMap', 'MutatingWebhookConfiguration'], 'no Deployment, Service, PDB, Secret or certificates');
  const hook = one(objs, 'MutatingWebhookConfiguration').webhooks[0];
  t.same(hook.clientConfig, { url: 'https://127.0.0.1:18443/mutate', caBundle: Buffer.from(ca.certPem).toString('base64') }, 'clientConfig.url and the given caBundle');
  t.equal(webhookConfigOf(objs).agent.image, `ghcr.io/erlmcp/erlmcp-secrets:${APP}`, 'the config a local webhook can be started with');
  t.throws(() => helmTemplate({ webhook: { url: 'https://127.0.0.1:18443/mutate' } }), /webhook\.caBundle is required with webhook\.url/, 'url without caBundle is refused, saying what to add');
});

t.test('NOTES.txt names the objects the chart made, and what is missing', { skip: missing }, async (t) => {
  const notes = helmNotes();
  const dep = one(renderedOf('default'), 'Deployment');
  t.match(notes, `kubectl -n ${NAMESPACE} rollout status deploy/${dep.metadata.name}`, 'waits for the Deployment the chart made');
  t.match(notes, `ghcr.io/erlmcp/erlmcp-secrets:${APP}`, 'names the agent image');
  t.match(notes, /No default Vault address is set \(defaults\.vault\.address\)/, 'says that pods must name their Vault');
  t.notMatch(helmNotes(SETS['custom images']), /No default Vault address/, '...and not when there is one');
  const url = helmNotes(SETS['url (out of cluster)']);
  const cm = one(renderedOf('url (out of cluster)'), 'ConfigMap');
  t.match(url, `kubectl -n ${NAMESPACE} get configmap ${cm.metadata.name}`, 'url mode: where the local webhook\'s config is');
  t.match(url, 'https://127.0.0.1:18443/mutate');
  t.notMatch(url, /rollout status/, 'url mode: no Deployment to wait for');
});

t.test('the PodDisruptionBudget never blocks every eviction: a node drain must be able to move a webhook pod', { skip: missing }, async (t) => {
  const kinds = (values: unknown) => helmTemplate(values).objects.map((o) => o.kind);
  t.notOk(kinds({ webhook: { replicas: 1 } }).includes('PodDisruptionBudget'), 'one replica: no PDB (minAvailable 1 of 1 would refuse every eviction)');
  t.ok(kinds({ webhook: { replicas: 2 } }).includes('PodDisruptionBudget'), 'two replicas: a PDB keeping one');
  const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE], { webhook: { replicas: 3, podDisruptionBudget: { minAvailable: 3 } } });
  t.not(r.status, 0, 'minAvailable as large as replicas: refused');
  t.match(r.stderr, /webhook\.podDisruptionBudget\.minAvailable \(3\) must be less than webhook\.replicas \(3\)/, 'saying which values and why');
});

t.test('values.schema.json refuses bad values before anything renders', { skip: missing }, async (t) => {
  const bad: Record<string, unknown> = {
    'failurePolicy Sometimes': { webhook: { failurePolicy: 'Sometimes' } },
    'a misspelt top-level key': { webhok: { replicas: 2 } },
    'a plain-http url': { webhook: { url: 'http://127.0.0.1:8443/mutate', caBundle: 'AAAA' } },
    'a timeout the API server refuses': { webhook: { timeoutSeconds: 31 } },
    'an unknown mode': { defaults: { mode: 'daemon' } },
    'a CPU quantity with a typo': { defaults: { agent: { resources: { limits: { cpu: '100 m' } } } } },
    'an empty image repository': { image: { agent: { repository: '' } } },
    'a tag with a space': { image: { binary: { tag: '1.0 -binary' } } },
  };
  for (const [name, values] of Object.entries(bad)) {
    const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE], values);
    t.not(r.status, 0, `${name}: refused`);
    t.match(r.stderr, /values don't meet the specifications of the schema|schema/i, `${name}: by the schema (${r.stderr.trim().split('\n').slice(-1)[0]})`);
  }
});

t.test('images by digest: repository:tag@digest everywhere an image is named, and a malformed digest refused', { skip: missing }, async (t) => {
  const agentDigest = `sha256:${'a1'.repeat(32)}`;
  const binaryDigest = `sha256:${'b2'.repeat(32)}`;
  const objs = helmTemplate({ image: { agent: { digest: agentDigest }, binary: { digest: binaryDigest } } }).objects;
  const c = one(objs, 'Deployment').spec.template.spec.containers[0];
  t.equal(c.image, `ghcr.io/erlmcp/erlmcp-secrets:${APP}@${agentDigest}`, 'the webhook pulls the agent image by digest');
  const cfg = webhookConfigOf(objs);
  t.equal(cfg.agent.image, c.image, 'the injected agent is the same digest');
  t.equal(cfg.agent.binaryImage, `ghcr.io/erlmcp/erlmcp-secrets:${APP}-binary@${binaryDigest}`, 'exec mode copies the binary image by digest');
  t.equal(stageForImage(cfg.agent.binaryImage), 'runtime-binary', 'the tag still says which image it is');
  t.same(commandProblems(df, { name: 'copy', image: cfg.agent.binaryImage, args: ['copy-self', '/x'] }), []);
  for (const v of SCHEMA_VERSIONS) t.same(validateK8s(one(objs, 'Deployment'), v), [], `the Deployment is valid against Kubernetes ${v}`);
  for (const digest of ['sha256:abc', `sha512:${'a'.repeat(128)}`, `sha256:${'A1'.repeat(32)}`]) {
    const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE], { image: { agent: { digest } } });
    t.not(r.status, 0, `${digest.slice(0, 16)}...: refused`);
    t.match(r.stderr, /schema/i, '...by the schema');
  }
});

t.test('long release and namespace names: every CN within the 64 characters X.509 (and cert-manager) allow', { skip: missing }, async (t) => {
  const release = `r${'x'.repeat(52)}`; // 53, Helm's longest release name
  const namespace = `a${'n'.repeat(62)}`; // 63, the longest namespace name
  const objs = helmTemplate({}, { release, namespace }).objects;
  const decode = (k: string): string => Buffer.from(one(objs, 'Secret').data[k], 'base64').toString('utf8');
  const cn = (pem: string): string => /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(pem).subject)?.[1] ?? '';
  for (const k of ['tls.crt', 'ca.crt']) {
    const name = cn(decode(k));
    t.ok(name.length > 0 && name.length <= 64, `generated ${k}: CN "${name}" is ${name.length} characters`);
  }
  const cert = new X509Certificate(decode('tls.crt'));
  t.ok(cert.checkHost(`${one(objs, 'Service').metadata.name}.${namespace}.svc`), 'the SANs still name the Service');
  const managed = helmTemplate({ certificates: { certManager: { enabled: true } } }, { release, namespace }).objects;
  const certs = managed.filter((o) => o.kind === 'Certificate') as Any[];
  t.ok(certs.length >= 2, 'cert-manager: a CA and a serving Certificate');
  for (const c of certs) {
    const name: string | undefined = c.spec.commonName;
    if (name !== undefined) t.ok(name.length <= 64, `cert-manager ${c.metadata.name}: commonName is ${name.length} characters (cert-manager refuses more than 64)`);
  }
  t.ok(certs.some((c) => c.spec.commonName !== undefined), 'at least one Certificate sets a commonName');
});

t.test('webhook.shutdownDelaySeconds: in the webhook config when not the default, and the grace period covers it', { skip: missing }, async (t) => {
  const byDefault = renderedOf('default');
  t.equal(one(byDefault, 'Deployment').spec.template.spec.terminationGracePeriodSeconds, 25, 'default: 5 s delay + 20');
  t.notOk('shutdownDelaySeconds' in (parseYaml(one(byDefault, 'ConfigMap').data['webhook.yaml']) as object), "default: left to the webhook's own default (older images refuse the key)");
  t.equal(webhookConfigOf(byDefault).shutdownDelaySeconds, 5);
  const longer = helmTemplate({ webhook: { shutdownDelaySeconds: 12 } }).objects;
  t.equal(webhookConfigOf(longer).shutdownDelaySeconds, 12, 'set: in the config the webhook reads');
  t.equal(one(longer, 'Deployment').spec.template.spec.terminationGracePeriodSeconds, 32);
  const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE], { webhook: { shutdownDelaySeconds: 500 } });
  t.not(r.status, 0, 'over 120: refused by the schema');
});

t.test('image names: only in values.yaml under image, never in a template', async (t) => {
  const templates = readdirSync(path.join(CHART, 'templates')).map((f) => ({ f, text: readFileSync(path.join(CHART, 'templates', f), 'utf8') }));
  for (const { f, text } of templates) {
    t.notMatch(text, /ghcr\.io|docker\.io|registry\.|erlmcp-secrets:\d/, `templates/${f}: no image name`);
    for (const line of text.split('\n').filter((l) => /^\s*(image|binaryImage):/.test(l) || /"image"|"binaryImage"/.test(l))) {
      t.match(line, /include "erlmcp-secrets\.(agentImage|binaryImage)"/, `templates/${f}: "${line.trim()}" takes the image from the helper`);
    }
  }
  const helpers = templates.find((x) => x.f === '_helpers.tpl')!.text;
  t.match(helpers, /\.Values\.image\.agent\.repository/);
  t.match(helpers, /\.Values\.image\.binary\.repository/);
  const values = readFileSync(path.join(CHART, 'values.yaml'), 'utf8');
  const leaves: [string, unknown][] = [];
  const walk = (v: unknown, at: string): void => {
    if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
    else leaves.push([at, v]);
  };
  walk(parseYaml(values), '');
  const imageLike = leaves.filter(([k, v]) => (typeof v === 'string' && v.includes('/erlmcp-secrets')) || /(^|\.)(repository|image)$/i.test(k));
  t.same(imageLike.map(([k]) => k), ['image.agent.repository', 'image.binary.repository'], 'the only image names in values.yaml are under image:');
});

t.test('Chart.yaml: appVersion is the project version (the default image tag)', async (t) => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(APP, pkg.version);
  t.match(chartYaml.version, /^\d+\.\d+\.\d+$/);
});
