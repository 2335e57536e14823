// Each injection mode end to end through the AdmissionReview handler: the
// JSON Patch applies with fast-json-patch, the patched pod passes the strict
// Kubernetes JSON schema (1.29, the first release with native sidecars on by
// default, and 1.37) and the API server's cross-field rules, the injected
// config parses with the agent's own config loader, and a second admission
// of the patched pod changes nothing.

import t, { type Test } from 'tap';
import { configSchema } from '../../agent/config/schema.ts';
import { parseConfigText } from '../../agent/config/load.ts';
import type { Container, Pod } from '../../agent/webhook/pod-types.ts';
import { SCHEMA_VERSIONS, validateK8s } from '../helpers/k8s-schema.ts';
import { podSemanticProblems, restrictedProblems } from '../helpers/pod-semantics.ts';
import { admit, agentConfigOf, loadReview, testWebhookConfig } from '../helpers/webhook-admit.ts';

const HARDENED = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

function byName(list: Container[] | undefined, name: string): Container {
  const c = (list ?? []).find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name}`);
  return c;
}

/** the checks every injected pod must pass, whatever the mode */
function checkPatchedPod(t: Test, pod: Pod, agentContainer: string): Record<string, unknown> {
  for (const v of SCHEMA_VERSIONS) t.same(validateK8s(pod, v), [], `patched pod is valid against the Kubernetes ${v} strict schema`);
  t.same(podSemanticProblems(pod as never), [], 'patched pod passes the API server cross-field rules');
  const ours = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c.name).filter((n) => n.startsWith('erlmcp-secrets'));
  t.same(restrictedProblems(pod as never, ours), [], 'the added containers meet the restricted Pod Security Standard');
  t.equal(pod.metadata?.annotations?.['secrets.erlmcp.io/status'], 'injected', 'marked injected');
  const raw = agentConfigOf(pod, agentContainer);
  const parsed = configSchema.safeParse(raw);
  t.ok(parsed.success, `ERLMCP_SECRETS_CONFIG parses with configSchema${parsed.success ? '' : `: ${JSON.stringify(parsed.error.issues)}`}`);
  // the loader the CLI uses for the env var, with each provider's own schema
  const loaded = (() => {
    try {
      return parseConfigText(JSON.stringify(raw), '$ERLMCP_SECRETS_CONFIG', '/');
    } catch (e) {
      return e as Error & { problems?: string[] };
    }
  })();
  if (loaded instanceof Error) t.fail(`parseConfigText rejected the injected config: ${loaded.problems?.join('; ') ?? loaded.message}`);
  else t.pass('parseConfigText (the CLI loader) accepts the injected config');
  return raw;
}

function checkIdempotent(t: Test, pod: Pod): void {
  const again = admit({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'again', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, operation: 'CREATE', object: pod } });
  t.equal(again.response.allowed, true, 'reinvocation: allowed');
  t.equal(again.response.patch, undefined, 'reinvocation: no second patch');
}

t.test('native-sidecar (default): one init container with restartPolicy Always and a startup probe', async (t) => {
  const review = loadReview('native-sidecar.json');
  const { response, ops, pod } = admit(review);
  t.equal(response.uid, review.request.uid, 'uid echoed');
  t.equal(response.allowed, true);
  t.equal(response.patchType, 'JSONPatch');
  t.ok(ops.some((o) => o.path === '/metadata/annotations/secrets.erlmcp.io~1status'), 'the status annotation key is ~1-escaped');

  const inits = pod.spec.initContainers!;
  t.same(inits.map((c) => c.name), ['erlmcp-secrets', 'migrate'], 'the agent runs first, before the app\'s own init containers');
  t.equal(pod.spec.containers.length, 1, 'no regular container added');
  const agent = inits[0]!;
  t.equal(agent.restartPolicy, 'Always');
  t.equal(agent.command, undefined, 'the image ENTRYPOINT runs the agent');
  t.same(agent.args, ['run']);
  t.match(agent.startupProbe, { httpGet: { path: '/readyz', port: 9102 }, periodSeconds: 1 });
  t.notOk((agent.startupProbe as { httpGet: { host?: string } }).httpGet.host, 'the kubelet probes the pod IP (no host)');
  t.match(agent.livenessProbe, { httpGet: { path: '/healthz', port: 9102 } });
  t.match(agent.securityContext, { ...HARDENED, runAsUser: 1000, runAsGroup: 1000 }, 'hardened, and runs as the app\'s uid/gid');
  t.same(agent.resources, { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } }, 'requests and limits for CPU and memory: a ResourceQuota on limits.cpu admits the pod');
  t.same(pod.spec.volumes?.find((v) => v.name === 'erlmcp-secrets'), { name: 'erlmcp-secrets', emptyDir: { medium: 'Memory', sizeLimit: '4Mi' } });
  t.same(byName(pod.spec.containers, 'erlmcp').volumeMounts, [
    { name: 'data', mountPath: '/var/lib/erlmcp' },
    { name: 'erlmcp-secrets', mountPath: '/run/secrets/erlmcp', readOnly: true },
  ], 'app container: its own mount kept, secrets mounted read-only');
  t.notOk(byName(inits, 'migrate').volumeMounts, 'init containers get the volume only when named in secrets.erlmcp.io/containers');

  const cfg = checkPatchedPod(t, pod, 'erlmcp-secrets');
  t.same(cfg.server, { enabled: true, listen: '0.0.0.0:9102', quit: false }, 'listens on all interfaces for the kubelet probes');
  t.same(cfg.output, { root: '/run/secrets/erlmcp' });
  t.same(cfg.providers, {
    vault: { type: 'vault', address: 'https://vault.vault.svc:8200', auth: { method: 'kubernetes', role: 'erlmcp', mount: 'kubernetes' } },
  });
  t.same(cfg.secrets, {
    db: { provider: 'vault', path: 'secret/data/database/erlmcp', require: ['host', 'username', 'password'] },
    cookie: { provider: 'vault', path: 'secret/data/erlang/cookie', require: { value: { minLength: 20 } } },
    jwt: { provider: 'vault', path: 'secret/data/auth/jwt' },
  });
  t.same(cfg.templates, [
    { contents: '{{cookie.value}}', destination: 'erlang.cookie', mode: '0400' },
    { contents: 'DB_HOST={{db.host}}\nDB_USER={{db.username}}\nDB_PASSWORD={{db.password}}\nJWT_SECRET={{jwt.secret}}\n', destination: 'erlmcp.env', mode: '0440', escape: 'dotenv' },
  ]);
  t.same(cfg.reload, [{ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()', cookieSecret: 'cookie.value' }]);
  checkIdempotent(t, pod);
});

t.test('sidecar mode in a Job: classic init + sidecar, POST /quit enabled', async (t) => {
  const review = loadReview('sidecar-job.json');
  const { response, pod } = admit(review);
  t.equal(response.allowed, true);
  t.same(pod.spec.initContainers!.map((c) => c.name), ['erlmcp-secrets-init']);
  const init = pod.spec.initContainers![0]!;
  t.same([init.command, init.args], [undefined, ['init']]);
  t.notOk(init.restartPolicy, 'a classic init container');
  t.notOk(init.startupProbe, 'no probe on a classic init container (the API server rejects one)');
  t.same(pod.spec.containers.map((c) => c.name), ['backup', 'erlmcp-secrets']);
  const side = byName(pod.spec.containers, 'erlmcp-secrets');
  t.same([side.command, side.args], [undefined, ['run']]);
  t.notOk(side.restartPolicy);
  t.same(side.resources, { requests: { cpu: '20m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } }, 'cpu-request and memory-limit annotations applied');
  t.match(side.securityContext, { ...HARDENED, runAsUser: 65532 }, 'no app uid in the spec: the webhook default');
  const cfg = checkPatchedPod(t, pod, 'erlmcp-secrets');
  t.same(agentConfigOf(pod, 'erlmcp-secrets-init'), cfg, 'init and sidecar run the same config');
  t.equal((cfg.server as { quit: boolean }).quit, true, 'restartPolicy Never: the job can POST /quit');
  t.same(cfg.providers, { aws: { type: 'aws', region: 'eu-west-1' } });
  t.same(cfg.secrets, { apikey: { provider: 'aws', id: 'erlmcp/api-key' } });
  checkIdempotent(t, pod);
});

t.test('init-only (pre-populate-only): just the gate, azure + gcp, inline config, custom mount path, projected token', async (t) => {
  const review = loadReview('init-only.json');
  const { response, pod } = admit(review);
  t.equal(response.allowed, true);
  t.same(pod.spec.initContainers!.map((c) => c.name), ['erlmcp-secrets-init']);
  t.same(pod.spec.containers.map((c) => c.name), ['cli', 'log-shipper'], 'no sidecar');
  t.same(byName(pod.spec.containers, 'cli').volumeMounts, [{ name: 'erlmcp-secrets', mountPath: '/etc/erlmcp/secrets', readOnly: true }]);
  t.notOk(byName(pod.spec.containers, 'log-shipper').volumeMounts, 'containers: "cli" leaves the log shipper alone');
  t.same(byName(pod.spec.containers, 'cli').args, ['eval', 'ok'], 'the app command is untouched outside exec mode');
  t.same(pod.spec.volumes!.map((v) => v.name), ['erlmcp-secrets'], 'automount off, but no Vault: no projected token');
  const cfg = checkPatchedPod(t, pod, 'erlmcp-secrets-init');
  t.equal((cfg.server as { enabled: boolean }).enabled, false, 'no server: nothing probes an init container');
  t.same(cfg.output, { root: '/etc/erlmcp/secrets' });
  t.same(cfg.init, { timeout: '30s' }, 'inline config kept (durations as written)');
  t.same(cfg.providers, { gcp: { type: 'gcp', project: 'erlmcp-prod' }, azure: { type: 'azure', vaultUrl: 'https://erlmcp.vault.azure.net' } });
  t.same(cfg.secrets, {
    dbpw: { provider: 'azure', name: 'erlmcp-db-password' },
    gcpdb: { provider: 'gcp', name: 'projects/erlmcp-prod/secrets/erlmcp-db-password', version: '3' },
  });
  t.same(cfg.templates, [{ contents: '{"azure": "{{dbpw.value}}", "gcp": "{{gcpdb.value}}"}', destination: 'db.json', mode: '0440', escape: 'json' }]);
  checkIdempotent(t, pod);
});

t.test('exec mode: the binary is copied in and wraps the explicit command', async (t) => {
  const review = loadReview('exec.json');
  const { response, pod } = admit(review);
  t.equal(response.allowed, true);
  t.same(pod.spec.initContainers!.map((c) => c.name), ['erlmcp-secrets-copy']);
  const copy = pod.spec.initContainers![0]!;
  t.same([copy.image, copy.command, copy.args], ['ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary', undefined, ['copy-self', '/erlmcp-secrets/bin/erlmcp-secrets']], 'the single binary copies itself: no shell or cp in the image');
  t.match(copy.securityContext, { ...HARDENED, runAsUser: 1000 });
  const app = byName(pod.spec.containers, 'erlmcp');
  t.same(app.command, ['/erlmcp-secrets/bin/erlmcp-secrets', 'exec', '--', '/opt/erlmcp/bin/erlmcp', 'foreground']);
  t.equal(app.args, undefined, 'args folded into the wrapped command line');
  t.same(app.env!.map((e) => e.name), ['ERLMCP_NODE', 'ERLMCP_SECRETS_CONFIG'], 'the app keeps its env and gains the agent config');
  t.same(app.volumeMounts, [
    { name: 'erlmcp-secrets', mountPath: '/run/secrets/erlmcp' },
    { name: 'erlmcp-secrets-bin', mountPath: '/erlmcp-secrets/bin', readOnly: true },
    { name: 'erlmcp-secrets-tls', mountPath: '/erlmcp-secrets/tls', readOnly: true },
  ]);
  t.same(pod.spec.volumes!.map((v) => v.name), ['erlmcp-secrets', 'erlmcp-secrets-bin', 'erlmcp-secrets-tls']);
  t.same(pod.spec.volumes![2], { name: 'erlmcp-secrets-tls', secret: { secretName: 'vault-ca' } });
  const cfg = checkPatchedPod(t, pod, 'erlmcp');
  t.same(cfg.exec, { env: { ERLMCP_DB_PASSWORD: '{{db.password}}' } });
  t.match(cfg.providers, { vault: { tls: { caFile: '/erlmcp-secrets/tls/ca.crt' } } }, 'the CA secret becomes the Vault CA file');
  t.equal((cfg.server as { enabled: boolean }).enabled, false, 'no agent port opened inside the app container');
  checkIdempotent(t, pod);
});

t.test('native sidecar: file: secrets share the app\'s volume, automount off gets a projected token', async (t) => {
  const review = loadReview('native-sidecar.json');
  const pod0 = review.request.object;
  pod0.metadata!.annotations = {
    'secrets.erlmcp.io/inject': 'true',
    'secrets.erlmcp.io/role': 'erlmcp',
    'secrets.erlmcp.io/secret-local': 'file:/etc/erlmcp/k8s-secrets/db',
    'secrets.erlmcp.io/secret-db': 'vault:secret/data/database/erlmcp',
    'secrets.erlmcp.io/template-db.env': 'A={{local.password}}\nB={{db.password}}\n',
  };
  pod0.spec.automountServiceAccountToken = false;
  pod0.spec.volumes!.push({ name: 'k8s-db', secret: { secretName: 'erlmcp-secrets' } });
  pod0.spec.containers[0]!.volumeMounts!.push({ name: 'k8s-db', mountPath: '/etc/erlmcp/k8s-secrets', readOnly: true });
  const { pod } = admit(review);
  const agent = pod.spec.initContainers![0]!;
  t.same(agent.volumeMounts, [
    { name: 'erlmcp-secrets', mountPath: '/run/secrets/erlmcp' },
    { name: 'erlmcp-secrets-token', mountPath: '/var/run/secrets/erlmcp-secrets/serviceaccount', readOnly: true },
    { name: 'k8s-db', mountPath: '/etc/erlmcp/k8s-secrets', readOnly: true },
  ]);
  const cfg = checkPatchedPod(t, pod, 'erlmcp-secrets');
  t.same((cfg.providers as Record<string, unknown>)['file-local'], { type: 'file', path: '/etc/erlmcp/k8s-secrets' });
  t.same((cfg.secrets as Record<string, unknown>).local, { provider: 'file-local', path: 'db' });
  t.match(cfg.providers, { vault: { auth: { jwtFile: '/var/run/secrets/erlmcp-secrets/serviceaccount/token' } } });
});

t.test('vault-jwt-audience: jwt auth with a projected token of that audience, automount or not', async (t) => {
  for (const automount of [true, false]) {
    const review = loadReview('native-sidecar.json');
    const pod0 = review.request.object;
    pod0.metadata!.annotations = {
      'secrets.erlmcp.io/inject': 'true',
      'secrets.erlmcp.io/role': 'erlmcp',
      'secrets.erlmcp.io/vault-jwt-audience': 'vault',
      'secrets.erlmcp.io/secret-db': 'vault:secret/data/database/erlmcp',
      'secrets.erlmcp.io/template-db.env': 'B={{db.password}}\n',
    };
    if (!automount) pod0.spec.automountServiceAccountToken = false;
    const { pod } = admit(review);
    const agent = pod.spec.initContainers![0]!;
    t.match(agent.volumeMounts, [{ name: 'erlmcp-secrets' }, { name: 'erlmcp-secrets-token', mountPath: '/var/run/secrets/erlmcp-secrets/serviceaccount', readOnly: true }]);
    const volume = (pod.spec.volumes ?? []).find((v) => v.name === 'erlmcp-secrets-token') as { projected?: unknown } | undefined;
    t.same(volume?.projected, { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3600, audience: 'vault' } }] }, 'the token carries the audience');
    const cfg = checkPatchedPod(t, pod, 'erlmcp-secrets');
    t.same((cfg.providers as Record<string, { auth?: unknown }>).vault?.auth, { method: 'jwt', mount: 'jwt', role: 'erlmcp', jwtFile: '/var/run/secrets/erlmcp-secrets/serviceaccount/token' });
  }
  const review = loadReview('native-sidecar.json');
  review.request.object.metadata!.annotations = { ...review.request.object.metadata!.annotations, 'secrets.erlmcp.io/vault-jwt-audience': 'vault', 'secrets.erlmcp.io/auth-path': 'auth/jwt-east' };
  const { pod } = admit(review);
  t.match(agentConfigOf(pod, 'erlmcp-secrets').providers, { vault: { auth: { method: 'jwt', mount: 'jwt-east' } } }, 'auth-path names the jwt mount');
  const bad = loadReview('native-sidecar.json');
  bad.request.object.metadata!.annotations = { ...bad.request.object.metadata!.annotations, 'secrets.erlmcp.io/vault-jwt-audience': 'two words' };
  const denied = admit(bad);
  t.equal(denied.response.allowed, false);
  t.match(denied.response.status?.message, "the Vault role's bound_audiences");
});

t.test('webhook defaults flow into pods: image, resources, mode, file mode', async (t) => {
  const cfg = testWebhookConfig();
  cfg.mode = 'sidecar';
  cfg.vault.role = 'erlmcp';
  cfg.agent.resources = { requests: { cpu: '5m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } };
  cfg.fileMode = '0400';
  const review = loadReview('native-sidecar.json');
  delete review.request.object.metadata!.annotations!['secrets.erlmcp.io/role'];
  delete review.request.object.metadata!.annotations!['secrets.erlmcp.io/mode-erlang.cookie'];
  const { pod } = admit(review, cfg);
  const side = byName(pod.spec.containers, 'erlmcp-secrets');
  t.equal(side.image, 'registry.example.com/erlmcp/erlmcp-secrets:0.1.0');
  t.same(side.resources, { requests: { cpu: '5m', memory: '32Mi' }, limits: { cpu: '100m', memory: '64Mi' } });
  const agentCfg = checkPatchedPod(t, pod, 'erlmcp-secrets');
  t.match(agentCfg.providers, { vault: { auth: { role: 'erlmcp' } } }, 'role from the webhook config');
  t.same((agentCfg.templates as { mode: string }[]).map((x) => x.mode), ['0400', '0400']);
});

t.test('the schema check is not vacuous: it catches what the API server would reject', async (t) => {
  const { pod } = admit(loadReview('native-sidecar.json'));
  const typo = structuredClone(pod);
  (typo.spec.initContainers![0] as Record<string, unknown>).restartPolicyy = 'Always';
  t.match(validateK8s(typo, 'v1.29.0'), [/additional properties \(restartPolicyy\)/]);
  const badProbe = structuredClone(pod);
  (badProbe.spec.initContainers![0]!.startupProbe as Record<string, unknown>).periodSeconds = '1';
  t.match(validateK8s(badProbe, 'v1.37.0').join('\n'), /periodSeconds: must be integer/);
  const dangling = structuredClone(pod);
  dangling.spec.volumes = dangling.spec.volumes!.filter((v) => v.name !== 'erlmcp-secrets');
  t.match(podSemanticProblems(dangling as never), [/mounts volume "erlmcp-secrets", which the pod does not declare/]);
  t.same(restrictedProblems(pod as never, ['erlmcp']), [
    'erlmcp: allowPrivilegeEscalation must be false',
    'erlmcp: capabilities must drop ALL',
    'erlmcp: runAsNonRoot must be true',
    'erlmcp: seccompProfile must be RuntimeDefault or Localhost',
  ], 'the fixture\'s own app container is not hardened, and the check says so');
});

t.test("the contract's annotation example is admitted with the example webhook config", async (t) => {
  const { parse } = await import('yaml');
  const { readFileSync } = await import('node:fs');
  const { parseWebhookConfig } = await import('../../agent/webhook/webhook-config.ts');
  const { reviewOf } = await import('../helpers/webhook-admit.ts');
  const cm = parse(readFileSync(new URL('../../examples/kubernetes/webhook-config.yaml', import.meta.url), 'utf8')) as { data: Record<string, string> };
  const cfg = parseWebhookConfig(parse(cm.data['webhook.yaml']!), 'webhook.yaml');
  // verbatim from ../shared/spec/contract.md "Pod annotations"
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'erlmcp',
      namespace: 'erlmcp',
      annotations: {
        'secrets.erlmcp.io/inject': 'true',
        'secrets.erlmcp.io/secret-db': 'vault:secret/data/database/erlmcp',
        'secrets.erlmcp.io/require-db': 'username,password',
        'secrets.erlmcp.io/template-erlmcp.env': 'DB_PASSWORD={{db.password}}\n',
        'secrets.erlmcp.io/reload': 'erlang:erlmcp_config:reload',
      },
    },
    spec: { serviceAccountName: 'erlmcp', securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 }, containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', securityContext: HARDENED }] },
  } as Pod;
  const { response, pod: patched } = admit(reviewOf(pod), cfg);
  t.equal(response.allowed, true, JSON.stringify(response.status));
  t.match(response.warnings ?? [], [/the erlang reload uses the node cookie at vault:secret\/data\/erlang\/cookie \(key value\), the webhook's default/]);
  const config = agentConfigOf(patched, 'erlmcp-secrets');
  t.match(config, {
    secrets: { db: { provider: 'vault', path: 'secret/data/database/erlmcp' }, cookie: { provider: 'vault', path: 'secret/data/erlang/cookie', require: { value: {} } } },
    reload: [{ type: 'erlang', node: 'erlmcp@127.0.0.1', call: 'erlmcp_config:reload()', cookieSecret: 'cookie.value' }],
  });
  t.ok(parseConfigText(JSON.stringify(config), '$ERLMCP_SECRETS_CONFIG', '/'), 'the agent accepts the generated config');
  checkPatchedPod(t, patched, 'erlmcp-secrets');
});
