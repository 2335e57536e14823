// Bad annotations deny the pod with a message that names the annotation and
// says what is wrong (exact messages); pods that do not ask for injection,
// and everything that is not a Pod CREATE, pass untouched.

import t from 'tap';
import { handleAdmissionReview } from '../../agent/webhook/admission.ts';
import { templateNameProblem } from '../../agent/webhook/annotations.ts';
import type { Pod } from '../../agent/webhook/pod-types.ts';
import { admit, reviewOf, testWebhookConfig } from '../helpers/webhook-admit.ts';

const P = 'secrets.erlmcp.io/';

function pod(annotations: Record<string, string>, spec: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'erlmcp-0', namespace: 'erlmcp', annotations },
    spec: { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0' }], ...spec },
  };
}

const base = { [`${P}inject`]: 'true', [`${P}role`]: 'erlmcp', [`${P}secret-db`]: 'vault:secret/data/database/erlmcp' };

function denial(annotations: Record<string, string>, spec: Partial<Pod['spec']> = {}, cfg = testWebhookConfig()): string {
  const { response } = admit(reviewOf(pod(annotations, spec), 'deny-uid'), cfg);
  if (response.allowed) throw new Error('expected a denial, the pod was allowed');
  if (response.uid !== 'deny-uid') throw new Error('uid not echoed');
  if (response.patch !== undefined) throw new Error('a denial carries no patch');
  if (response.status?.code !== 400) throw new Error(`status code ${response.status?.code}`);
  return response.status.message;
}

t.test('unknown keys are denied with a did-you-mean', async (t) => {
  t.equal(
    denial({ ...base, [`${P}secrte-jwt`]: 'vault:secret/data/auth/jwt' }),
    'erlmcp-secrets: secrets.erlmcp.io/secrte-jwt: unknown annotation; did you mean secrets.erlmcp.io/secret-jwt? (see the erlmcp-secrets README for the full list)',
  );
  t.equal(
    denial({ ...base, [`${P}vault-adress`]: 'https://vault:8200' }),
    'erlmcp-secrets: secrets.erlmcp.io/vault-adress: unknown annotation; did you mean secrets.erlmcp.io/vault-address? (see the erlmcp-secrets README for the full list)',
  );
  t.equal(
    denial({ ...base, [`${P}templates-erlmcp.env`]: 'x' }),
    'erlmcp-secrets: secrets.erlmcp.io/templates-erlmcp.env: unknown annotation; did you mean secrets.erlmcp.io/template-erlmcp.env? (see the erlmcp-secrets README for the full list)',
  );
  t.equal(
    denial({ ...base, [`${P}frobnicate`]: 'yes' }),
    'erlmcp-secrets: secrets.erlmcp.io/frobnicate: unknown annotation (see the erlmcp-secrets README for the full list)',
  );
});

t.test('bad values name the annotation and the fix', async (t) => {
  t.equal(denial({ ...base, [`${P}inject`]: 'yes' }), 'erlmcp-secrets: secrets.erlmcp.io/inject: must be "true" or "false", got "yes"');
  t.equal(denial({ ...base, [`${P}mode`]: 'daemon' }), 'erlmcp-secrets: secrets.erlmcp.io/mode: must be one of native-sidecar, sidecar, init-only, exec, got "daemon"');
  t.equal(denial({ ...base, [`${P}secret-db`]: 'consul:kv/db' }), 'erlmcp-secrets: secrets.erlmcp.io/secret-db: unknown provider "consul" (known: vault, aws, azure, gcp, file; others can be declared in secrets.erlmcp.io/config)');
  t.equal(
    denial({ ...base, [`${P}secret-db`]: 'secret/data/database/erlmcp' }),
    'erlmcp-secrets: secrets.erlmcp.io/secret-db: must be PROVIDER:REFERENCE, e.g. "vault:secret/data/database/erlmcp", "aws:erlmcp/api-key", "azure:erlmcp-db-password", "gcp:erlmcp-db-password"; got "secret/data/database/erlmcp"',
  );
  t.equal(denial({ ...base, [`${P}secret-db`]: 'vault:secret/../sys/db' }), 'erlmcp-secrets: secrets.erlmcp.io/secret-db: Vault path "secret/../sys/db" has an empty, "." or ".." segment');
  t.equal(denial({ ...base, [`${P}mode-erlmcp.env`]: '0644', [`${P}template-erlmcp.env`]: 'X={{db.password}}' }), 'erlmcp-secrets: secrets.erlmcp.io/mode-erlmcp.env: 0644 makes the file writable; secrets files are read-only (use e.g. "0400" or "0440")');
  t.equal(denial({ ...base, [`${P}escape-erlmcp.env`]: 'html', [`${P}template-erlmcp.env`]: 'X={{db.password}}' }), 'erlmcp-secrets: secrets.erlmcp.io/escape-erlmcp.env: must be one of none, dotenv, shell, json, yaml, erlang, got "html"');
  t.equal(denial({ ...base, [`${P}run-as-user`]: '0' }), 'erlmcp-secrets: secrets.erlmcp.io/run-as-user: must not be 0: the agent runs as non-root');
  t.equal(denial({ ...base, [`${P}memory-limit`]: '128MB' }), 'erlmcp-secrets: secrets.erlmcp.io/memory-limit: must be a Kubernetes quantity like "10m", "48Mi" or "1", got "128MB"');
  t.equal(denial({ ...base, [`${P}init-timeout`]: 'soon' }), 'erlmcp-secrets: secrets.erlmcp.io/init-timeout: must be a duration like "30s", "5m" or "1h", got "soon"');
  t.equal(denial({ ...base, [`${P}volume-mount-path`]: 'secrets' }), 'erlmcp-secrets: secrets.erlmcp.io/volume-mount-path: must be an absolute path, got "secrets"');
  t.equal(denial({ ...base, [`${P}require-db`]: 'username,,password' }), 'erlmcp-secrets: secrets.erlmcp.io/require-db: must be a comma-separated key list like "username,password" or a YAML map of rules, got "username,,password"');
  t.equal(denial({ ...base, [`${P}require-db`]: '{ password: { minLenght: 16 } }' }), 'erlmcp-secrets: secrets.erlmcp.io/require-db: password.minLenght: unknown key');
  t.equal(denial({ ...base, [`${P}status`]: 'pending' }), 'erlmcp-secrets: secrets.erlmcp.io/status: is written by the webhook ("injected"); remove it from the pod template');
});

t.test('template names that would leave the volume are rejected', async (t) => {
  t.equal(denial({ ...base, [`${P}template-..`]: 'x' }), 'erlmcp-secrets: secrets.erlmcp.io/template-..: template name ".." contains ".."; it must be a plain file name under the secrets volume');
  t.equal(denial({ ...base, [`${P}template-a..b`]: 'x' }), 'erlmcp-secrets: secrets.erlmcp.io/template-a..b: template name "a..b" contains ".."; it must be a plain file name under the secrets volume');
  t.equal(denial({ ...base, [`${P}template-.env`]: 'x' }), 'erlmcp-secrets: secrets.erlmcp.io/template-.env: template name ".env" starts with "."; hidden names clash with the volume\'s own ..data entries');
  t.equal(denial({ ...base, [`${P}template-`]: 'x' }), 'erlmcp-secrets: secrets.erlmcp.io/template-: the template name (the file name) is empty');
  // "/" cannot appear in an annotation name, but the parser is pure and must not rely on that
  t.equal(templateNameProblem('../etc/passwd'), 'template name "../etc/passwd" contains a path separator; it must be a plain file name under the secrets volume');
  t.equal(templateNameProblem('a\\b'), 'template name "a\\\\b" contains a path separator; it must be a plain file name under the secrets volume');
  t.equal(templateNameProblem('erlmcp.env'), undefined);
});

t.test('cross-annotation problems', async (t) => {
  t.equal(denial({ [`${P}inject`]: 'true' }), 'erlmcp-secrets: secrets.erlmcp.io/inject: the pod asks for injection but declares no secret; add secrets.erlmcp.io/secret-NAME (e.g. "vault:secret/data/database/erlmcp") or secrets in secrets.erlmcp.io/config');
  t.equal(denial({ ...base, [`${P}require-cookie`]: 'value' }), 'erlmcp-secrets: secrets.erlmcp.io/require-cookie: no secret "cookie" is declared; add secrets.erlmcp.io/secret-cookie');
  t.equal(denial({ ...base, [`${P}template-erlmcp.env`]: 'JWT={{jwt.secret}}' }), 'erlmcp-secrets: secrets.erlmcp.io/template-erlmcp.env: {{jwt.secret}} at line 1: no secret "jwt" is declared (declared: db)');
  t.equal(denial({ ...base, [`${P}escape-erlmcp.env`]: 'dotenv' }), 'erlmcp-secrets: secrets.erlmcp.io/escape-erlmcp.env: there is no secrets.erlmcp.io/template-erlmcp.env for it to apply to');
  t.equal(
    denial({ ...base, [`${P}template-x`]: 'A={{#db}}{{password}}{{/db}}' }),
    'erlmcp-secrets: secrets.erlmcp.io/template-x: {{#db}} at line 1: unknown section "db"; the sections are erl.integer, erl.atom, erl.string, erl.binary, base64decode, base64encode, json, default, each around one {{secret.key}} (see docs/templates.md)',
    'template syntax is checked by the agent\'s own template parser',
  );
  const { [`${P}role`]: _role, ...noRole } = base;
  t.equal(denial(noRole), 'erlmcp-secrets: secrets.erlmcp.io/secret-db: Vault\'s kubernetes auth needs a role; set secrets.erlmcp.io/role (e.g. "erlmcp") or vault.role in the webhook config');
  const noAddress = testWebhookConfig();
  delete noAddress.vault.address;
  t.equal(denial(base, {}, noAddress), 'erlmcp-secrets: secrets.erlmcp.io/secret-db: uses Vault, but no Vault address is known; set secrets.erlmcp.io/vault-address or vault.address in the webhook config');
  t.equal(denial({ ...base, [`${P}secret-key`]: 'aws:erlmcp/api-key' }), 'erlmcp-secrets: secrets.erlmcp.io/secret-key: uses aws, but no region is known; set secrets.erlmcp.io/aws-region or aws.region in the webhook config');
  t.equal(denial({ ...base, [`${P}image`]: 'evil/agent:latest' }), 'erlmcp-secrets: secrets.erlmcp.io/image: this webhook does not allow pods to choose the agent image (agent.allowImageOverride is false); remove the annotation');
  t.equal(denial({ ...base, [`${P}containers`]: 'erlmcp,sidecar' }), 'erlmcp-secrets: secrets.erlmcp.io/containers: the pod has no container "sidecar" (it has "erlmcp")');
  t.equal(
    denial({ ...base, [`${P}reload`]: 'signal:SIGHUP:/run/erlmcp/erlmcp.pid' }),
    'erlmcp-secrets: secrets.erlmcp.io/reload: a signal reload reaches another container only when the pod sets spec.shareProcessNamespace: true; set it, or use an erlang or http reload',
  );
  const noCookieDefault = testWebhookConfig();
  delete noCookieDefault.erlang.cookie.ref;
  t.equal(
    denial({ ...base, [`${P}reload`]: 'erlang:erlmcp_config:reload' }, {}, noCookieDefault),
    'erlmcp-secrets: secrets.erlmcp.io/reload: an erlang reload needs the node\'s cookie: set secrets.erlmcp.io/reload-erlang-cookie to a secret key such as "cookie.value" or to a file path',
    'without the webhook\'s cookie default, the pod must say where the cookie is',
  );
  t.equal(denial({ ...base, [`${P}env-DB_PASSWORD`]: '{{db.password}}' }), 'erlmcp-secrets: secrets.erlmcp.io/env-DB_PASSWORD: environment variables are set only in mode exec (the agent then starts the app); in other modes render a template and have the app read the file');
  t.equal(
    denial(base, { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', ports: [{ containerPort: 9102 }] }] }),
    'erlmcp-secrets: secrets.erlmcp.io/port: container "erlmcp" already uses port 9102, which the agent listens on for its probes; pick another with secrets.erlmcp.io/port',
  );
  t.equal(denial({ ...base, [`${P}secret-local`]: 'file:/etc/erlmcp/k8s/db' }), 'erlmcp-secrets: secrets.erlmcp.io/secret-local: /etc/erlmcp/k8s/db is not on any volume the pod\'s containers mount; the agent reads files only from volumes it can share (mount the Secret or ConfigMap in the app container, at that path or above it)');
  t.equal(denial({ ...base, [`${P}pre-populate-only`]: 'true', [`${P}mode`]: 'sidecar' }), 'erlmcp-secrets: secrets.erlmcp.io/pre-populate-only: "true" means mode init-only, but secrets.erlmcp.io/mode is "sidecar"; keep one of them');
});

t.test('exec mode never guesses an image entrypoint', async (t) => {
  const exec = { ...base, [`${P}mode`]: 'exec' };
  t.equal(
    denial(exec, { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', args: ['foreground'] }] }),
    'erlmcp-secrets: secrets.erlmcp.io/mode: exec must know what container "erlmcp" runs, and its spec has no command; the webhook never guesses an image\'s entrypoint. Set command (and args) on the container, or secrets.erlmcp.io/exec-command to a JSON array such as ["/opt/erlmcp/bin/erlmcp", "foreground"]',
  );
  t.equal(
    denial(exec, { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', command: ['/opt/erlmcp/bin/erlmcp'] }, { name: 'shipper', image: 'fluent/fluent-bit:3' }] }),
    'erlmcp-secrets: secrets.erlmcp.io/mode: exec must know what container "shipper" runs, and its spec has no command; the webhook never guesses an image\'s entrypoint. Set command (and args) on the container, or secrets.erlmcp.io/exec-command to a JSON array such as ["/opt/erlmcp/bin/erlmcp", "foreground"], or name only the containers that need secrets in secrets.erlmcp.io/containers',
  );
  const { pod: onlyApp } = admit(
    reviewOf(pod({ ...exec, [`${P}containers`]: 'erlmcp,erlmcp' }, { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', command: ['/opt/erlmcp/bin/erlmcp'] }, { name: 'shipper', image: 'fluent/fluent-bit:3' }] })),
  );
  t.same(onlyApp.spec.containers[1], { name: 'shipper', image: 'fluent/fluent-bit:3' }, 'containers: only the named one is wrapped (a repeated name counts once)');
  t.equal(onlyApp.spec.containers[0]!.volumeMounts!.filter((m) => m.name === 'erlmcp-secrets').length, 1);
  t.equal(denial({ ...exec, [`${P}exec-command`]: '/opt/erlmcp/bin/erlmcp foreground' }), 'erlmcp-secrets: secrets.erlmcp.io/exec-command: must be a JSON array of strings, e.g. ["/opt/erlmcp/bin/erlmcp", "foreground"]');
  // exec-command supplies the entrypoint; the container's args follow it
  const { pod: patched } = admit(reviewOf(pod({ ...exec, [`${P}exec-command`]: '["/opt/erlmcp/bin/erlmcp"]' }, { containers: [{ name: 'erlmcp', image: 'erlmcp/erlmcp:3.0.0', args: ['foreground'] }] })));
  t.same(patched.spec.containers[0]!.command, ['/erlmcp-secrets/bin/erlmcp-secrets', 'exec', '--', '/opt/erlmcp/bin/erlmcp', 'foreground']);
  t.equal(patched.spec.containers[0]!.args, undefined);
});

t.test('several problems are reported together, numbered', async (t) => {
  t.equal(
    denial({ ...base, [`${P}mode`]: 'daemon', [`${P}cpu-limit`]: 'lots' }),
    'erlmcp-secrets: 2 problems: (1) secrets.erlmcp.io/cpu-limit: must be a Kubernetes quantity like "10m", "48Mi" or "1", got "lots"; (2) secrets.erlmcp.io/mode: must be one of native-sidecar, sidecar, init-only, exec, got "daemon"',
  );
});

t.test('the inline config annotation: precedence and conflicts', async (t) => {
  const CANARY = 'canary-inline-Zq8xW3';
  const badYaml = denial({ ...base, [`${P}config`]: `providers: {\n  vault: [${CANARY}` });
  t.match(badYaml, /^erlmcp-secrets: secrets\.erlmcp\.io\/config: not valid YAML or JSON: /);
  t.notMatch(badYaml, CANARY, 'the annotation text is not echoed');
  t.equal(denial({ ...base, [`${P}config`]: '- a\n- b\n' }), 'erlmcp-secrets: secrets.erlmcp.io/config: must be a YAML or JSON mapping with the agent config keys (providers, secrets, templates, reload, ...)');
  t.equal(
    denial({ ...base, [`${P}config`]: 'secrets:\n  db: { provider: vault, path: secret/data/other }\n' }),
    'erlmcp-secrets: secrets.erlmcp.io/secret-db: secret "db" is also declared in secrets.erlmcp.io/config (secrets.db); keep one of them',
  );
  t.equal(
    denial({ ...base, [`${P}config`]: 'output: { root: /tmp/x }\n' }),
    'erlmcp-secrets: secrets.erlmcp.io/config: output.root "/tmp/x" differs from the secrets volume /run/secrets/erlmcp; drop output.root or set secrets.erlmcp.io/volume-mount-path',
  );
  t.equal(
    denial({ ...base, [`${P}config`]: 'templates:\n  - { contents: "x", destination: /etc/passwd }\n' }),
    'erlmcp-secrets: secrets.erlmcp.io/config: templates[0].destination "/etc/passwd" is outside the secrets volume /run/secrets/erlmcp; give a name relative to it',
  );
  t.equal(
    denial({ ...base, [`${P}config`]: 'templates:\n  - { contents: "x", destination: a.env }\n', [`${P}template-a.env`]: '{{db.password}}' }),
    'erlmcp-secrets: secrets.erlmcp.io/template-a.env: /run/secrets/erlmcp/a.env is also written by secrets.erlmcp.io/config templates[0]',
  );
  t.equal(
    denial({ ...base, [`${P}config`]: 'refresh: { interval: often }\n' }),
    'erlmcp-secrets: secrets.erlmcp.io/config: the agent config built from the annotations is invalid: refresh.interval: "often" is not a duration (use e.g. 30s, 5m, 1h, 250ms)',
  );
  t.equal(
    denial({ ...base, [`${P}config`]: 'logging: { level: debug }\n' }),
    'erlmcp-secrets: secrets.erlmcp.io/config: the agent config built from the annotations is invalid: logging: unknown key',
  );

  // precedence: webhook defaults < inline config < annotations
  const { pod: patched } = admit(
    reviewOf(
      pod({
        ...base,
        [`${P}vault-address`]: 'https://vault.erlmcp.svc:8200',
        [`${P}config`]: 'providers:\n  vault: { type: vault, address: "https://inline:8200", namespace: team-a, auth: { method: kubernetes, mount: k8s-east } }\nrefresh: { interval: 10m }\nreload:\n  - { type: http, url: "http://127.0.0.1:8081/reload" }\n',
        [`${P}refresh-interval`]: '2m',
      }),
    ),
  );
  const env = patched.spec.initContainers![0]!.env!.find((e) => e.name === 'ERLMCP_SECRETS_CONFIG')!.value!;
  const cfg = JSON.parse(env) as Record<string, unknown>;
  t.same(cfg.providers, {
    vault: { type: 'vault', auth: { method: 'kubernetes', mount: 'k8s-east', role: 'erlmcp' }, address: 'https://vault.erlmcp.svc:8200', namespace: 'team-a' },
  }, 'address: annotation over inline; mount: inline over default; role: annotation');
  t.same(cfg.refresh, { interval: '2m' }, 'refresh-interval annotation over inline');
  t.same(cfg.reload, [{ type: 'http', url: 'http://127.0.0.1:8081/reload' }], 'inline reload kept when no reload annotation');
});

t.test('size limits', async (t) => {
  const big = 'x'.repeat(64 * 1024 + 1);
  t.equal(
    denial({ ...base, [`${P}template-big.txt`]: big }),
    'erlmcp-secrets: secrets.erlmcp.io/template-big.txt: the value is 65537 bytes, more than the limit of 65536; move large templates or config into a file in the agent image or a mounted ConfigMap',
  );
  const many: Record<string, string> = { ...base };
  for (let i = 0; i < 5; i++) many[`${P}template-f${i}.txt`] = 'y'.repeat(60 * 1024);
  t.match(denial(many), /^erlmcp-secrets: secrets\.erlmcp\.io\/\* annotations: together \d+ bytes, more than the limit of 262144$/);
});

t.test('pods that do not ask, and requests that are not pod creations, pass untouched', async (t) => {
  const cases: [string, Pod][] = [
    ['no annotations', { ...pod({}), metadata: { name: 'x' } }],
    ['no inject annotation, even with typos elsewhere', pod({ [`${P}secrte-db`]: 'nonsense' })],
    ['inject "false"', pod({ ...base, [`${P}inject`]: 'false', [`${P}mode`]: 'bogus' })],
  ];
  for (const [name, p] of cases) {
    const { response } = admit(reviewOf(p, 'u-1'));
    t.same(response, { uid: 'u-1', allowed: true }, name);
  }
  const cfg = testWebhookConfig();
  const deployment = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'd-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' }, operation: 'CREATE', object: { metadata: { annotations: base } } } };
  t.same(handleAdmissionReview(deployment, cfg), { ok: true, decision: 'not-a-pod', review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'd-1', allowed: true } } });
  const update = { ...reviewOf(pod(base), 'up-1'), request: { ...reviewOf(pod(base), 'up-1').request, operation: 'UPDATE' } };
  t.same(handleAdmissionReview(update, cfg), { ok: true, decision: 'not-create', review: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'up-1', allowed: true } } });
  const ephemeral = { ...reviewOf(pod(base), 'sub-1'), request: { ...reviewOf(pod(base), 'sub-1').request, subResource: 'ephemeralcontainers' } };
  t.same((handleAdmissionReview(ephemeral, cfg) as { review: unknown }).review, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'sub-1', allowed: true } });
});

t.test('dryRun gets the same answer (the webhook has no side effects)', async (t) => {
  const wet = reviewOf(pod(base), 'dry-1');
  const dry = { ...wet, request: { ...wet.request, dryRun: true } };
  t.same(admit(dry).response, admit(wet).response);
});

t.test('malformed reviews get HTTP 400 from the handler', async (t) => {
  const cfg = testWebhookConfig();
  t.same(handleAdmissionReview({ kind: 'Pod' }, cfg), { ok: false, httpStatus: 400, message: 'expected an AdmissionReview (kind)' });
  t.same(handleAdmissionReview({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1beta1', request: { uid: 'x' } }, cfg), {
    ok: false,
    httpStatus: 400,
    message: 'expected apiVersion admission.k8s.io/v1, got "admission.k8s.io/v1beta1"; list only v1 in admissionReviewVersions',
  });
  t.same(handleAdmissionReview({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: {} }, cfg), { ok: false, httpStatus: 400, message: 'the AdmissionReview has no request.uid' });
  const noSpec = handleAdmissionReview({ kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1', request: { uid: 'n', kind: { group: '', kind: 'Pod' }, operation: 'CREATE', object: { metadata: {} } } }, cfg);
  t.match(noSpec, { ok: true, review: { response: { uid: 'n', allowed: false, status: { code: 400, message: 'erlmcp-secrets: the AdmissionReview has no pod object with spec.containers' } } } });
});

t.test('warnings for things that work but are probably not meant', async (t) => {
  const { response } = admit(reviewOf(pod({ ...base, [`${P}aws-region`]: 'eu-west-1' })));
  t.same(response.warnings, [
    'erlmcp-secrets: secrets.erlmcp.io/aws-region is set, but no secret uses the aws provider',
    'erlmcp-secrets: no template is declared: secrets are fetched and validated, but no file is written',
  ]);
});
