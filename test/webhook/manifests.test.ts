// Every manifest in examples/kubernetes/ parses (multi-document YAML) and is
// valid against the strict Kubernetes JSON schema (1.29 and 1.37; the
// MutatingWebhookConfiguration against admissionregistration.k8s.io/v1 from
// the same source). cert-manager's CRDs have no schema in that source: they
// get a structural check here (the fields cert-manager requires), which is
// weaker than a schema. The pieces must also fit together (Service ->
// Deployment, webhook -> Service, Certificate -> Secret -> volume), the
// example workloads must come out of the webhook valid, and the Vault
// policy from vault-setup.sh must allow every Vault path they read.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../agent/config/load.ts';
import { parseWebhookConfig } from '../../agent/webhook/webhook-config.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { capabilitiesFor, type Capability, type PolicyRules } from '../fakes/vault/policy.ts';
import { hasSchema, SCHEMA_VERSIONS, validateK8s } from '../helpers/k8s-schema.ts';
import { certManagerProblems } from '../helpers/cert-manager-shape.ts';
import { podSemanticProblems, restrictedProblems } from '../helpers/pod-semantics.ts';
import { admit, agentConfigOf, reviewOf } from '../helpers/webhook-admit.ts';

const DIR = path.join(import.meta.dirname, '..', '..', 'examples', 'kubernetes');

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string>; labels?: Record<string, string> }; [k: string]: unknown };
type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const docs: { file: string; obj: Obj }[] = [];
const yamlFiles = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort();

t.test('every YAML file parses, document by document', async (t) => {
  t.ok(yamlFiles.length >= 8, `found ${yamlFiles.length} manifest files`);
  for (const file of yamlFiles) {
    const parsed = parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8'), { uniqueKeys: true });
    const all = Array.isArray(parsed) ? parsed : [parsed];
    for (const d of all) {
      t.same(d.errors.map((e) => e.message), [], `${file}: no YAML errors`);
      const obj = d.toJS() as Obj | null;
      if (obj === null) continue;
      t.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: ${obj.kind}/${obj.metadata?.name} has apiVersion, kind, metadata.name`);
      docs.push({ file, obj });
    }
  }
});

t.test('each object is valid against its schema', async (t) => {
  for (const { file, obj } of docs) {
    const label = `${file}: ${obj.kind}/${obj.metadata.name}`;
    if (obj.apiVersion === 'cert-manager.io/v1') {
      t.same(certManagerProblems(obj), [], `${label}: structural check (no cert-manager schema in the Kubernetes schema source)`);
      continue;
    }
    t.ok(hasSchema(obj.apiVersion, obj.kind), `${label}: a Kubernetes schema exists for ${obj.apiVersion} ${obj.kind}`);
    for (const v of SCHEMA_VERSIONS) t.same(validateK8s(obj, v), [], `${label}: valid against Kubernetes ${v} (strict)`);
  }
  const kinds = new Set(docs.map((d) => d.obj.kind));
  for (const k of ['Deployment', 'PodDisruptionBudget', 'Service', 'MutatingWebhookConfiguration', 'ServiceAccount', 'Certificate', 'Issuer', 'Job', 'ConfigMap']) {
    t.ok(kinds.has(k), `the examples include a ${k}`);
  }
});

const find = (kind: string, name: string): Any => {
  const d = docs.find((x) => x.obj.kind === kind && x.obj.metadata.name === name);
  if (!d) throw new Error(`no ${kind}/${name} in the examples`);
  return d.obj as Any;
};

t.test('the webhook pieces fit together', async (t) => {
  const mwc = find('MutatingWebhookConfiguration', 'erlmcp-secrets');
  const hook = mwc.webhooks[0];
  t.match(hook, {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    reinvocationPolicy: 'IfNeeded',
    timeoutSeconds: 10,
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'] }],
    objectSelector: { matchLabels: { 'secrets.erlmcp.io/inject': 'true' } },
  });
  t.same(hook.clientConfig.service.path, '/mutate');
  const svc = find('Service', hook.clientConfig.service.name);
  t.equal(svc.metadata.namespace, hook.clientConfig.service.namespace, 'webhook -> Service namespace');
  t.equal(svc.spec.ports.find((p: Any) => p.port === hook.clientConfig.service.port)?.targetPort, 'https');
  const dep = find('Deployment', 'erlmcp-secrets-webhook');
  t.equal(dep.spec.replicas, 2);
  t.match(dep.spec.template.metadata.labels, svc.spec.selector, 'Service selects the webhook pods');
  t.match(dep.spec.template.metadata.labels, find('PodDisruptionBudget', 'erlmcp-secrets-webhook').spec.selector.matchLabels, 'PDB selects them too');
  t.notOk(dep.spec.template.metadata.labels['secrets.erlmcp.io/inject'], 'the webhook is never sent its own pods');
  t.ok(hook.namespaceSelector.matchExpressions[0].values.includes(dep.metadata.namespace), '...nor pods in its namespace');
  const container = dep.spec.template.spec.containers[0];
  t.ok(container.ports.some((p: Any) => p.name === 'https'), 'the Service targetPort exists');
  t.same(restrictedProblems(dep.spec.template), [], 'the webhook pods meet Pod Security "restricted"');
  const sa = find('ServiceAccount', dep.spec.template.spec.serviceAccountName);
  t.equal(sa.automountServiceAccountToken, false, 'no API token: the webhook needs no API access');
  t.notOk(docs.some((d) => ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(d.obj.kind)), 'no RBAC objects at all');

  const cert = find('Certificate', 'erlmcp-secrets-webhook');
  const tlsVolume = dep.spec.template.spec.volumes.find((v: Any) => v.secret);
  t.equal(tlsVolume.secret.secretName, cert.spec.secretName, 'Certificate -> Secret -> webhook volume');
  t.notOk(container.volumeMounts.some((m: Any) => m.subPath), 'no subPath mounts: they would never see a rotated Secret');
  t.equal(mwc.metadata.annotations['cert-manager.io/inject-ca-from'], `${cert.metadata.namespace}/${cert.metadata.name}`, 'CA injection names the Certificate');
  const host = `${svc.metadata.name}.${svc.metadata.namespace}.svc`;
  t.ok(cert.spec.dnsNames.includes(host), `the certificate covers ${host}`);
  const args: string[] = container.args;
  t.ok(args.includes('--tls-cert=/etc/erlmcp-secrets/tls/tls.crt') && args.includes('--tls-key=/etc/erlmcp-secrets/tls/tls.key'));

  const cm = find('ConfigMap', 'erlmcp-secrets-webhook');
  const webhookCfg = parseWebhookConfig(parseYaml(cm.data['webhook.yaml']), 'webhook.yaml');
  t.equal(webhookCfg.vault.address, 'https://vault.vault.svc:8200', 'the example webhook config parses with the webhook\'s schema');
});

t.test('example workloads come out of the webhook valid', async (t) => {
  const cm = find('ConfigMap', 'erlmcp-secrets-webhook');
  const cfg = parseWebhookConfig(parseYaml(cm.data['webhook.yaml']), 'webhook.yaml');
  const workloads = docs.filter((d) => (d.obj.kind === 'Deployment' || d.obj.kind === 'Job') && (d.obj as Any).spec.template.metadata.annotations?.['secrets.erlmcp.io/inject'] === 'true');
  t.ok(workloads.length >= 4, 'the erlmcp Deployments (native sidecar, exec) and two Jobs');
  for (const { obj } of workloads) {
    const tpl = (obj as Any).spec.template;
    t.equal(tpl.metadata.labels['secrets.erlmcp.io/inject'], 'true', `${obj.metadata.name}: labelled, so the objectSelector sends it`);
    const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { ...tpl.metadata, namespace: obj.metadata.namespace }, spec: structuredClone(tpl.spec) };
    const { response, pod: patched } = admit(reviewOf(pod, `ex-${obj.metadata.name}`), cfg);
    t.equal(response.allowed, true, `${obj.metadata.name}: injected${response.status ? `: ${response.status.message}` : ''}`);
    for (const v of SCHEMA_VERSIONS) t.same(validateK8s(patched, v), [], `${obj.metadata.name}: the patched pod is valid against ${v}`);
    t.same(podSemanticProblems(patched as never), [], `${obj.metadata.name}: cross-field rules`);
    t.same(restrictedProblems(patched as never), [], `${obj.metadata.name}: the whole patched pod meets Pod Security "restricted" (its namespace enforces it)`);
    // exec mode: the agent runs inside the app container
    const agent = tpl.metadata.annotations['secrets.erlmcp.io/mode'] === 'exec' ? tpl.spec.containers[0].name : patched.spec.initContainers!.find((c) => c.name.startsWith('erlmcp-secrets'))!.name;
    const raw = agentConfigOf(patched, agent);
    t.doesNotThrow(() => parseConfigText(JSON.stringify(raw), '$ERLMCP_SECRETS_CONFIG', '/'), `${obj.metadata.name}: the injected config loads`);
    if (obj.metadata.name === 'erlmcp-db-migrate-legacy') t.equal((raw.server as Any).quit, true, 'sidecar-mode Job: POST /quit enabled');
  }
});

t.test('vault-setup.sh grants read on every Vault path the examples use, and nothing more', async (t) => {
  const script = readFileSync(path.join(DIR, 'vault-setup.sh'), 'utf8');
  const hcl = /<<'POLICY'\n([\s\S]*?)\nPOLICY/.exec(script)?.[1];
  t.ok(hcl, 'the policy is in the script');
  const rules: PolicyRules = {};
  for (const m of hcl!.matchAll(/path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]\s*\}/g)) {
    rules[m[1]!] = m[2]!.split(',').map((c) => c.trim().replace(/"/g, '')) as Capability[];
  }
  t.ok(Object.keys(rules).length >= 3, 'policy rules parsed');
  for (const caps of Object.values(rules)) t.same(caps, ['read'], 'read-only');
  const paths = new Set<string>();
  for (const { obj } of docs) {
    for (const [k, v] of Object.entries(((obj as Any).spec?.template?.metadata?.annotations ?? {}) as Record<string, string>)) {
      if (k.startsWith('secrets.erlmcp.io/secret-') && v.startsWith('vault:')) paths.add(v.slice('vault:'.length));
    }
  }
  t.same([...paths].sort(), ['secret/data/auth/jwt', 'secret/data/database/erlmcp', 'secret/data/erlang/cookie']);
  for (const p of paths) {
    t.ok(capabilitiesFor([rules], p).has('read'), `policy allows read on ${p}`);
    t.ok(capabilitiesFor([rules], p.replace('/data/', '/metadata/')).has('read'), `...and on its metadata (cheap change checks)`);
  }
  t.notOk(capabilitiesFor([rules], 'secret/data/other/app').has('read'), 'nothing outside erlmcp\'s paths');
  t.match(script, /bound_service_account_names="\$SERVICE_ACCOUNT"/);
  t.match(script, /SERVICE_ACCOUNT="\$\{SERVICE_ACCOUNT:-erlmcp\}"/);
  t.match(script, /NAMESPACE="\$\{NAMESPACE:-erlmcp\}"/);
  t.match(script, /ROLE="\$\{ROLE:-erlmcp\}"/);
  t.match(script, /AUTH_MOUNT="\$\{AUTH_MOUNT:-kubernetes\}"/);
});

t.test('the shell scripts are valid bash', async (t) => {
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.sh'))) {
    t.doesNotThrow(() => execFileSync('bash', ['-n', path.join(DIR, f)]), `${f}: bash -n`);
  }
});
