// The admission path against what crash-looped or slipped through before:
// Object.prototype names, templates using undeclared keys, null entries in the
// pod spec, quantities and mount paths the kubelet cannot honour, file:
// references to a mounted Secret's directory, every problem in one answer,
// and CPU/memory requests and limits on every injected container. Every
// admitted pod's config passes the check `erlmcp-secrets check` runs.

import t, { type Test } from 'tap';
import type { Container, Pod } from '../../agent/webhook/pod-types.ts';
import { admit, agentConfigOf, denialOf, injectedConfigProblems, loadReview, podWith, reviewOf, testWebhookConfig } from '../helpers/webhook-admit.ts';

const P = 'secrets.erlmcp.io/';
const base = { [`${P}inject`]: 'true', [`${P}role`]: 'erlmcp', [`${P}secret-db`]: 'vault:secret/data/database/erlmcp' };
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];

function admitted(t: Test, pod: Pod, what: string): Pod {
  const r = admit(reviewOf(pod));
  t.equal(r.response.allowed, true, `${what}: admitted${r.response.allowed ? '' : ` (${r.response.status?.message})`}`);
  t.same(injectedConfigProblems(r.pod), [], `${what}: the injected config passes check's own checks`);
  return r.pod;
}

t.test('Object.prototype names are names like any other', async (t) => {
  for (const n of PROTO_NAMES.filter((x) => x !== '__proto__')) {
    // as a secret name: declared, so a template may use it
    const pod = admitted(t, podWith({ ...base, [`${P}secret-${n}`]: 'vault:secret/data/x', [`${P}require-${n}`]: 'k', [`${P}template-a.env`]: `X={{${n}.k}}` }), `secret-${n}`);
    t.match(agentConfigOf(pod, 'erlmcp-secrets').secrets, { [n]: { provider: 'vault', path: 'secret/data/x', require: ['k'] } });
    // not declared: denied for the true reason, not taken from Object.prototype
    t.equal(denialOf(podWith({ ...base, [`${P}require-${n}`]: 'k' })), `erlmcp-secrets: ${P}require-${n}: no secret "${n}" is declared; add ${P}secret-${n}`);
    t.equal(
      denialOf(podWith({ ...base, [`${P}template-a.env`]: `X={{${n}.k}}` })),
      `erlmcp-secrets: ${P}template-a.env: {{${n}.k}} at line 1: no secret "${n}" is declared (declared: db)`,
    );
    // as a key name
    admitted(t, podWith({ ...base, [`${P}require-db`]: n, [`${P}template-a.env`]: `X={{db.${n}}}` }), `key ${n}`);
    t.equal(
      denialOf(podWith({ ...base, [`${P}require-db`]: 'password', [`${P}template-a.env`]: `X={{db.${n}}}` })),
      `erlmcp-secrets: ${P}template-a.env: {{db.${n}}} at line 1: secret "db" declares no key "${n}" (declared: password)`,
    );
    // as a template (file) name, and escape-/mode- without their template
    admitted(t, podWith({ ...base, [`${P}template-${n}`]: 'X={{db.k}}', [`${P}escape-${n}`]: 'dotenv', [`${P}mode-${n}`]: '0400' }), `template-${n}`);
    t.equal(denialOf(podWith({ ...base, [`${P}escape-${n}`]: 'dotenv' })), `erlmcp-secrets: ${P}escape-${n}: there is no ${P}template-${n} for it to apply to`);
    t.equal(denialOf(podWith({ ...base, [`${P}mode-${n}`]: '0400' })), `erlmcp-secrets: ${P}mode-${n}: there is no ${P}template-${n} for it to apply to`);
    // as a provider name: unknown unless the inline config declares it
    t.equal(
      denialOf(podWith({ ...base, [`${P}secret-x`]: `${n}:a/b` })),
      `erlmcp-secrets: ${P}secret-x: unknown provider "${n}" (known: vault, aws, azure, gcp, file; others can be declared in ${P}config)`,
    );
    const inline = JSON.stringify({ providers: { [n]: { type: 'vault', address: 'https://v:8200', auth: { method: 'kubernetes', role: 'r' } } } });
    const withProvider = admitted(t, podWith({ ...base, [`${P}config`]: inline, [`${P}secret-x`]: `${n}:a/b`, [`${P}template-a.env`]: 'X={{x.k}}' }), `provider ${n}`);
    t.match(agentConfigOf(withProvider, 'erlmcp-secrets').providers, { [n]: { type: 'vault' } });
    // as an exec environment variable
    admitted(t, podWith({ ...base, [`${P}mode`]: 'exec', [`${P}env-${n}`]: '{{db.k}}' }, { containers: [{ name: 'erlmcp', image: 'e', command: ['/x'] }] }), `env-${n}`);
  }
  t.equal(Object.prototype.hasOwnProperty.call(Object.prototype.valueOf, 'require'), false, 'require-valueOf did not write onto Object.prototype.valueOf');
});

t.test('__proto__ is refused wherever it would vanish or pollute', async (t) => {
  t.equal(
    denialOf(podWith({ ...base, [`${P}secret-__proto__`]: 'vault:secret/data/x' })),
    `erlmcp-secrets: ${P}secret-__proto__: secret name "__proto__" must start with a letter and use letters, digits, "_" and "-" (it is the template namespace, {{__proto__.key}})`,
  );
  t.equal(denialOf(podWith({ ...base, [`${P}require-db`]: '__proto__' })), `erlmcp-secrets: ${P}require-db: [0]: "__proto__" cannot be used as a name here`);
  t.equal(
    denialOf(podWith({ ...base, [`${P}require-db`]: '{ __proto__: { minLength: 3 } }' })),
    `erlmcp-secrets: ${P}require-db: a key named "__proto__" cannot be used (it cannot be told apart from JavaScript's object prototype); rename it`,
  );
  t.equal(
    denialOf(podWith({ ...base, [`${P}mode`]: 'exec', [`${P}env-__proto__`]: '{{db.k}}' }, { containers: [{ name: 'erlmcp', image: 'e', command: ['/x'] }] })),
    `erlmcp-secrets: ${P}env-__proto__: "__proto__" is not a valid environment variable name`,
  );
  t.equal(
    denialOf(podWith({ ...base, [`${P}config`]: '{"providers": {"__proto__": {"type": "vault"}}}' })),
    `erlmcp-secrets: ${P}config: the agent config built from the annotations is invalid: providers: a key named "__proto__" cannot be used (it cannot be told apart from JavaScript's object prototype); rename it`,
  );
  admitted(t, podWith({ ...base, [`${P}template-__proto__`]: 'X={{db.k}}' }), 'a file named __proto__ is just a file');
});

t.test('a template using a key that require- does not declare is denied, not left to crash-loop init', async (t) => {
  // the webhook's own fixture used db.host with require-db: username,password
  const review = loadReview('native-sidecar.json');
  review.request.object.metadata!.annotations![`${P}require-db`] = 'username,password';
  t.equal(
    denialOf(review.request.object),
    `erlmcp-secrets: ${P}template-erlmcp.env: {{db.host}} at line 1: secret "db" declares no key "host" (declared: username, password)`,
  );
  // the fixture as it is now, and every other one, is admitted and passes check
  for (const name of ['native-sidecar.json', 'sidecar-job.json', 'init-only.json', 'exec.json']) {
    const r = admit(loadReview(name));
    t.equal(r.response.allowed, true, `${name} admitted`);
    t.same(injectedConfigProblems(r.pod), [], `${name}: check passes the injected config`);
  }
  // exec env templates are checked the same way
  t.equal(
    denialOf(podWith({ ...base, [`${P}mode`]: 'exec', [`${P}require-db`]: 'password', [`${P}env-DB_USER`]: '{{db.username}}' }, { containers: [{ name: 'erlmcp', image: 'e', command: ['/x'] }] })),
    `erlmcp-secrets: ${P}env-DB_USER: {{db.username}} at line 1: secret "db" declares no key "username" (declared: password)`,
  );
  // a destination no filesystem can create, from the inline config
  const long = 'x'.repeat(300);
  t.equal(
    denialOf(podWith({ ...base, [`${P}config`]: JSON.stringify({ templates: [{ contents: 'X={{db.k}}', destination: long }] }) })),
    `erlmcp-secrets: ${P}config templates[0]: /run/secrets/erlmcp/${'x'.repeat(40)}...${'x'.repeat(40)} cannot be created: the file name is 300 bytes long; Linux allows 255 bytes in a name (NAME_MAX) and the agent's temp file beside it needs 36 more, so keep it at most 219`,
  );
  admitted(t, podWith({ ...base, [`${P}config`]: JSON.stringify({ templates: [{ contents: 'X={{db.k}}', destination: 'y'.repeat(219) }] }) }), 'a 219-byte file name');
});

t.test('null entries and wrong types in the pod spec are denied by path, never HTTP 500', async (t) => {
  const a = { ...base, [`${P}template-a.env`]: 'X={{db.k}}' };
  const c = (extra: Record<string, unknown>) => ({ containers: [{ name: 'erlmcp', image: 'e', ...extra }] });
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown>, string]> = [
    ['a null container', a, { containers: [null] }, 'spec.containers[0]: is null; every entry must be a container with a name'],
    ['a container without a name', a, { containers: [{ image: 'e' }] }, 'spec.containers[0].name: must be a non-empty string, got a undefined'],
    ['a null init container', a, { initContainers: [null] }, 'spec.initContainers[0]: is null; every entry must be a container with a name'],
    ['initContainers: null', a, { initContainers: null }, 'spec.initContainers: must be a list, got null'],
    ['a null volume mount', a, c({ volumeMounts: [null] }), 'spec.containers[0].volumeMounts[0]: is null; every entry must be a volume mount with a name'],
    ['a mount without a path', a, c({ volumeMounts: [{ name: 'v' }] }), 'spec.containers[0].volumeMounts[0].mountPath: must be a non-empty string, got a undefined'],
    ['a null env entry', a, c({ env: [null] }), 'spec.containers[0].env[0]: is null; every entry must be an environment variable with a name'],
    ['a null port', a, c({ ports: [null] }), 'spec.containers[0].ports[0]: is null; every entry must be a port'],
    ['a command that is not a list', a, c({ command: '/bin/x' }), 'spec.containers[0].command: must be a list, got a string'],
    ['a null volume', a, { volumes: [null] }, 'spec.volumes[0]: is null; every entry must be a volume with a name'],
    ['volumes: a map', a, { volumes: {} }, 'spec.volumes: must be a list, got a map'],
    ['a null annotation value', { ...a, 'example.com/x': null }, {}, 'metadata.annotations["example.com/x"]: annotation values are strings; this one is null (quote it in YAML, e.g. "true")'],
    ['a number in our annotation', { ...a, [`${P}port`]: 9110 }, {}, `${P}port: annotation values are strings; this one is a number (quote it in YAML, e.g. "true")`],
  ];
  for (const [what, ann, spec, problem] of cases) {
    const out = admit(reviewOf(podWith(ann, spec)));
    t.equal(out.response.allowed, false, `${what}: denied`);
    t.equal(out.response.status?.message, `erlmcp-secrets: ${problem}`, `${what}: named`);
  }
  t.match(denialOf(podWith(base, { containers: [null, { name: 'b', volumeMounts: [null] }], volumes: [null] })), /^erlmcp-secrets: 3 problems: \(1\) spec\.containers\[0\]: .*\(2\) spec\.containers\[1\]\.volumeMounts\[0\]: .*\(3\) spec\.volumes\[0\]: /, 'every bad entry is named at once');
  const skipped = admit(reviewOf(podWith({ 'example.com/x': 'y' }, { containers: [null] })));
  t.same([skipped.response.allowed, skipped.response.patch], [true, undefined], 'a pod that does not ask for injection passes untouched, however odd');
});

t.test('quantities: the Kubernetes grammar, more than 0, and bounds the agent can live with', async (t) => {
  const denied: Array<[string, string, string]> = [
    ['volume-size', '-1Mi', 'must be more than 0, got "-1Mi"'],
    ['volume-size', '0', 'must be more than 0, got "0"'],
    ['volume-size', '1Ki', '"1Ki" is less than 64Ki, the smallest the secrets volume the webhook accepts'],
    ['volume-size', '2Gi', '"2Gi" is more than 1Gi, the largest the secrets volume the webhook accepts'],
    ['memory-limit', '0', 'must be more than 0, got "0"'],
    ['memory-limit', '16Mi', '"16Mi" is less than 64Mi, the smallest memory the webhook accepts (the agent uses about 60 MB; a lower limit kills it before its first render)'],
    ['memory-limit', '128MB', 'must be a Kubernetes quantity like "10m", "48Mi" or "1", got "128MB"'],
    ['memory-request', '-48Mi', 'must be more than 0, got "-48Mi"'],
    ['cpu-limit', '0', 'must be more than 0, got "0"'],
    ['cpu-limit', '5m', '"5m" is less than 10m, the smallest CPU the webhook accepts (below 10m the agent needs minutes of wall time to start)'],
    ['cpu-request', '0.0005', '"0.0005" is less than 1m, the smallest CPU the webhook accepts'],
    ['cpu-request', '1.5m', '"1.5m" is finer than 1m, which Kubernetes refuses'],
    ['cpu-request', '1e400', 'must be a Kubernetes quantity like "10m", "48Mi" or "1", got "1e400"'],
    ['cpu-limit', '100', '"100" is more than 8, the largest CPU the webhook accepts'],
  ];
  for (const [k, v, why] of denied) t.equal(denialOf(podWith({ ...base, [`${P}${k}`]: v })), `erlmcp-secrets: ${P}${k}: ${why}`, `${k}: ${v}`);
  t.equal(
    denialOf(podWith({ ...base, [`${P}memory-request`]: '256Mi' })),
    `erlmcp-secrets: ${P}memory-request: the agent's memory request 256Mi is more than its limit 128Mi, which Kubernetes refuses; raise ${P}memory-limit or lower the request`,
  );
  t.equal(
    denialOf(podWith({ ...base, [`${P}cpu-request`]: '500m', [`${P}cpu-limit`]: '0.2' })),
    `erlmcp-secrets: ${P}cpu-request: the agent's CPU request 500m is more than its limit 0.2, which Kubernetes refuses; raise ${P}cpu-limit or lower the request`.replace('CPU request', 'cpu request'),
  );
  const ok = admitted(t, podWith({ ...base, [`${P}volume-size`]: '1Mi', [`${P}memory-limit`]: '96Mi', [`${P}cpu-limit`]: '0.25', [`${P}cpu-request`]: '25m', [`${P}memory-request`]: '1e8' }), 'quantities in range');
  t.same((ok.spec.initContainers![0]! as Container).resources, { requests: { cpu: '25m', memory: '1e8' }, limits: { cpu: '0.25', memory: '96Mi' } });
});

t.test('the volume is never mounted where the kernel, the runtime or the token live', async (t) => {
  const cases: Array<[string, string]> = [
    ['/proc', '/proc is /proc, which the kernel and the container runtime own'],
    ['/proc/self', '/proc/self is under /proc, which the kernel and the container runtime own'],
    ['/sys/fs/cgroup', '/sys/fs/cgroup is under /sys, which the kernel and the container runtime own'],
    ['/dev', '/dev is /dev, which the kernel and the container runtime own'],
    ['/dev/shm', '/dev/shm is under /dev, which the kernel and the container runtime own'],
    ['/var/run/secrets/kubernetes.io/serviceaccount', '/var/run/secrets/kubernetes.io/serviceaccount is the service-account token directory /var/run/secrets/kubernetes.io/serviceaccount'],
    ['/var/run/secrets/kubernetes.io/serviceaccount/x', '/var/run/secrets/kubernetes.io/serviceaccount/x is inside the service-account token directory /var/run/secrets/kubernetes.io/serviceaccount'],
    ['/run/secrets/kubernetes.io/serviceaccount', '/run/secrets/kubernetes.io/serviceaccount is the service-account token directory /run/secrets/kubernetes.io/serviceaccount'],
    ['/var/run/secrets', '/var/run/secrets would hide the service-account token directory /var/run/secrets/kubernetes.io/serviceaccount'],
    ['/erlmcp-secrets', "/erlmcp-secrets would hide the webhook's own directory /erlmcp-secrets/tls"],
  ];
  for (const [path, why] of cases) {
    t.equal(denialOf(podWith({ ...base, [`${P}volume-mount-path`]: path })), `erlmcp-secrets: ${P}volume-mount-path: ${why}; mount the secrets elsewhere (e.g. /run/secrets/erlmcp)`, path);
  }
  admitted(t, podWith({ ...base, [`${P}volume-mount-path`]: '/etc/erlmcp/secrets' }), '/etc/erlmcp/secrets');
});

t.test('file: a mounted Secret\'s directory, as the README lays it out', async (t) => {
  const spec = (mountPath: string) => ({
    containers: [{ name: 'erlmcp', image: 'e', volumeMounts: [{ name: 'db-secret', mountPath, readOnly: true }] }],
    volumes: [{ name: 'db-secret', secret: { secretName: 'erlmcp-db' } }],
  });
  const ann = { ...base, [`${P}secret-k8s`]: 'file:/etc/erlmcp/k8s-secrets/db', [`${P}template-a.env`]: 'X={{k8s.password}}' };
  for (const mountPath of ['/etc/erlmcp/k8s-secrets/db', '/etc/erlmcp/k8s-secrets/db/', '/etc/erlmcp/k8s-secrets', '/etc/erlmcp']) {
    const pod = admitted(t, podWith(ann, spec(mountPath)), `the Secret mounted at ${mountPath}`);
    const agent = pod.spec.initContainers!.find((c) => c.name === 'erlmcp-secrets')!;
    t.ok(agent.volumeMounts!.some((m) => m.name === 'db-secret' && m.mountPath === mountPath && m.readOnly === true), `the agent gets the same mount at ${mountPath}`);
    t.match(agentConfigOf(pod, 'erlmcp-secrets'), { providers: { 'file-k8s': { type: 'file', path: '/etc/erlmcp/k8s-secrets' } }, secrets: { k8s: { provider: 'file-k8s', path: 'db' } } });
  }
  t.equal(
    denialOf(podWith(ann, spec('/etc/erlmcp/k8s-secrets/other'))),
    `erlmcp-secrets: ${P}secret-k8s: /etc/erlmcp/k8s-secrets/db is not on any volume the pod's containers mount; the agent reads files only from volumes it can share (mount the Secret or ConfigMap in the app container, at that path or above it)`,
  );
  t.equal(
    denialOf(podWith(ann, spec('/etc/erlmcp/k8s-secrets/d'))),
    `erlmcp-secrets: ${P}secret-k8s: /etc/erlmcp/k8s-secrets/db is not on any volume the pod's containers mount; the agent reads files only from volumes it can share (mount the Secret or ConfigMap in the app container, at that path or above it)`,
    'a mount whose path is a prefix of the name, not a parent directory, does not count',
  );
});

t.test('every problem in one answer: unknown keys do not hide the cross-checks', async (t) => {
  const msg = denialOf(
    podWith(
      { ...base, [`${P}secrte-jwt`]: 'vault:secret/data/auth/jwt', [`${P}mode`]: 'daemon', [`${P}template-erlmcp.env`]: 'JWT={{jwt.secret}}', [`${P}memory-limit`]: '0', [`${P}volume-mount-path`]: '/proc/x' },
      { containers: [{ name: 'erlmcp', image: 'e', ports: [{ containerPort: 9102 }] }] },
    ),
  );
  t.equal(
    msg,
    'erlmcp-secrets: 6 problems: ' +
      [
        `(1) ${P}memory-limit: must be more than 0, got "0"`,
        `(2) ${P}mode: must be one of native-sidecar, sidecar, init-only, exec, got "daemon"`,
        `(3) ${P}secrte-jwt: unknown annotation; did you mean ${P}secret-jwt? (see the erlmcp-secrets README for the full list)`,
        `(4) ${P}volume-mount-path: /proc/x is under /proc, which the kernel and the container runtime own; mount the secrets elsewhere (e.g. /run/secrets/erlmcp)`,
        `(5) ${P}port: container "erlmcp" already uses port 9102, which the agent listens on for its probes; pick another with ${P}port`,
        `(6) ${P}template-erlmcp.env: {{jwt.secret}} at line 1: no secret "jwt" is declared (declared: db)`,
      ].join('; '),
  );
  const many = denialOf(podWith(Object.fromEntries([...Object.entries(base), ...Array.from({ length: 200 }, (_, i) => [`${P}bogus-${i}`, 'x'])])));
  t.match(many, /^erlmcp-secrets: 200 problems: \(1\) /);
  t.match(many, /; and 170 more$/, 'a long list is cut, with the count of what is left out');
  t.ok(many.length < 10_000, 'the answer stays small');
});

t.test('every injected container has CPU and memory requests and limits', async (t) => {
  for (const name of ['native-sidecar.json', 'sidecar-job.json', 'init-only.json', 'exec.json']) {
    const { pod } = admit(loadReview(name));
    const ours = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].filter((c) => c.name.startsWith('erlmcp-secrets'));
    t.ok(ours.length > 0, `${name}: containers were added`);
    for (const c of ours) {
      const r = c.resources as { requests: Record<string, string>; limits: Record<string, string> };
      t.ok(r.requests.cpu && r.requests.memory && r.limits.cpu && r.limits.memory, `${name} ${c.name}: cpu and memory, request and limit (a ResourceQuota on limits.cpu admits it)`);
    }
  }
  const pod = admitted(t, podWith({ ...base, [`${P}cpu-request`]: '20m', [`${P}cpu-limit`]: '250m' }), 'cpu annotations');
  t.same((pod.spec.initContainers![0]! as Container).resources, { requests: { cpu: '20m', memory: '48Mi' }, limits: { cpu: '250m', memory: '128Mi' } });
  const cfg = testWebhookConfig();
  cfg.agent.resources.limits.cpu = '500m';
  const fromConfig = admit(reviewOf(podWith(base)), cfg).pod;
  t.equal((fromConfig.spec.initContainers![0]! as Container & { resources: { limits: { cpu: string } } }).resources.limits.cpu, '500m', 'the webhook config sets the default');
});
