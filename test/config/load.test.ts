import t from 'tap';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText, loadConfig, loadConfigFile } from '../../agent/config/load.ts';
import { AgentError } from '../../agent/errors.ts';

const base = '/etc/erlmcp';

function problemsOf(text: string): string[] {
  try {
    parseConfigText(text, 'agent.yaml', base);
  } catch (e) {
    if (e instanceof AgentError) {
      t.equal(e.code, 'config');
      return e.problems;
    }
    throw e;
  }
  throw new Error('expected a config error');
}

t.test('a full config parses with defaults and resolved paths', async (t) => {
  const c = parseConfigText(
    `
providers:
  vault:
    type: vault
    address: https://vault.vault.svc:8200
    auth: { method: kubernetes, role: erlmcp }
  local: { type: file, path: ./dev-secrets }
secrets:
  db:
    provider: vault
    path: secret/data/database/erlmcp
    require:
      password: { minLength: 16 }
      username: {}
      host:
  cookie:
    provider: local
    require: [value]
templates:
  - source: templates/erlmcp.env.mustache
    destination: erlmcp.env
    escape: dotenv
  - contents: "{{cookie.value}}"
    destination: /run/secrets/erlang.cookie
    mode: "0440"
refresh: { interval: 10m, jitter: 0.2 }
init: { timeout: 90s }
`,
    'agent.yaml',
    base,
  );
  t.equal(c.outputRoot, '/run/secrets', 'the default root holds the contract example\'s destinations');
  t.same(Object.keys(c.providers), ['vault', 'local']);
  t.equal(c.secrets.db!.providerType, 'vault');
  t.same(c.secrets.db!.spec.path, 'secret/data/database/erlmcp');
  t.same(c.secrets.db!.require, { password: { minLength: 16 }, username: {}, host: {} });
  t.same(c.secrets.cookie!.require, { value: {} });
  t.equal(c.secrets.cookie!.requireDeclared, true);
  t.equal(c.templates[0]!.sourcePath, '/etc/erlmcp/templates/erlmcp.env.mustache');
  t.equal(c.templates[0]!.destination, '/run/secrets/erlmcp.env');
  t.equal(c.templates[0]!.mode, 0o400, 'default mode 0400');
  t.equal(c.templates[1]!.mode, 0o440);
  t.equal(c.templates[1]!.escape, undefined, 'escape left for inference');
  t.equal(c.refresh.interval, 600_000);
  t.equal(c.refresh.jitter, 0.2);
  t.equal(c.init.timeout, 90_000);
  t.equal(c.server.listen, '127.0.0.1:9102');
});

t.test('JSON is accepted too', async (t) => {
  const c = parseConfigText(JSON.stringify({ providers: { local: { type: 'file', path: 'x' } }, secrets: { a: { provider: 'local' } } }), 'agent.json', base);
  t.equal(c.secrets.a!.requireDeclared, false);
});

t.test('every problem is reported at once with file and config path', async (t) => {
  const problems = problemsOf(`
providers:
  vault: { type: vault, address: https://v:8200, auth: { method: token, tokenFile: /t } }
  local: { type: file, path: ./x }
  cloud: { type: clowd }
secrets:
  db: { provider: valt, path: secret/data/db }
  other: { provider: local, require: { password: { minLength: -1 } } }
templates:
  - { destination: a.env }
  - { contents: "x", destination: ../../etc/passwd }
  - { contents: "x", destination: b, mode: "999" }
refresh: { interval: soon }
secrts: {}
`);
  t.ok(problems.includes('agent.yaml: secrts: unknown key; did you mean secrets?'), 'an unknown key suggests the one meant');
  t.ok(problems.includes('agent.yaml: templates[0]: give exactly one of source or contents'));
  t.ok(problems.includes('agent.yaml: templates[2].mode: mode is octal like "0400"'));
  t.ok(problems.includes('agent.yaml: refresh.interval: "soon" is not a duration (use e.g. 30s, 5m, 1h, 250ms)'));
  t.ok(problems.some((p) => p.startsWith('agent.yaml: secrets.other.require.password.minLength: ')));
  t.equal(problems.length, 5, 'schema problems come first; cross-checks run once the shape is right');
});

t.test('unknown provider and type name what is known', async (t) => {
  const problems = problemsOf(`
providers:
  vault: { type: vault, address: https://v:8200, auth: { method: token, tokenFile: /t } }
  local: { type: file, path: ./x }
  cloud: { type: clowd }
secrets:
  db: { provider: valt, path: secret/data/db }
templates:
  - { contents: "x", destination: ../../etc/passwd }
`);
  t.ok(problems.includes('agent.yaml: secrets.db.provider: unknown provider "valt" (known: vault, local, cloud)'), problems.join('\n'));
  t.match(problems.find((p) => p.includes('providers.cloud.type')), /^agent\.yaml: providers\.cloud\.type: unknown type "clowd" \(known: vault, file/);
  t.ok(problems.includes('agent.yaml: templates[0].destination: ../../etc/passwd is outside the output root /run/secrets; write under output.root or change output.root'));
});

t.test('provider-specific fields are checked by the provider schema', async (t) => {
  const problems = problemsOf(`
providers:
  vault: { type: vault, auth: { method: token } }
secrets:
  db: { provider: vault }
`);
  t.ok(problems.some((p) => p.startsWith('agent.yaml: providers.vault.address')), problems.join('\n'));
  t.ok(problems.some((p) => p.startsWith('agent.yaml: secrets.db.path')), problems.join('\n'));
});

t.test('duplicate destinations and bad matchesCertificate are cross-checked', async (t) => {
  const problems = problemsOf(`
providers: { local: { type: file, path: x } }
secrets:
  tls: { provider: local, require: { key: { format: pem-private-key, matchesCertificate: cert.crt } } }
  a: { provider: local, require: { v: { minLength: 10, maxLength: 5 } } }
templates:
  - { contents: "a", destination: same }
  - { contents: "b", destination: ./same }
`);
  t.same(problems.sort(), [
    'agent.yaml: secrets.a.require.v: minLength 10 is greater than maxLength 5',
    'agent.yaml: secrets.tls.require.key.matchesCertificate: no secret "cert" is declared',
    'agent.yaml: templates[1].destination: /run/secrets/same is also written by templates[0]',
  ]);
});

t.test('YAML syntax errors give a position and never quote the text', async (t) => {
  const canary = 'CANARY-s3cr3t-in-config-9c1f';
  const problems = problemsOf(`providers:\n  local: { type: file, path: "${canary}"\nsecrets: [\n`);
  t.equal(problems.length, 1);
  t.match(problems[0], /^agent\.yaml: not valid YAML or JSON at line \d+, column \d+: /);
  t.notMatch(problems.join('\n'), canary);
});

t.test('duplicate keys are an error', async (t) => {
  const problems = problemsOf('providers: {}\nproviders: {}\n');
  t.match(problems[0], /^agent\.yaml: not valid YAML or JSON at line 2/);
});

t.test('files and the env var', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(file, 'providers: { local: { type: file, path: ./s } }\n');
  const c = await loadConfigFile(file);
  t.equal(c.providers.local!.settings.path, './s');
  t.equal(c.baseDir, dir);
  await t.rejects(loadConfigFile(path.join(dir, 'nope.yaml')), { code: 'config', message: `${path.join(dir, 'nope.yaml')}: no such file; pass the agent config with -c FILE` });
  const fromEnv = await loadConfig(undefined, { ERLMCP_SECRETS_CONFIG: '{"providers":{"l":{"type":"file","path":"/x"}}}' });
  t.equal(fromEnv.origin, '$ERLMCP_SECRETS_CONFIG');
  await t.rejects(loadConfig(undefined, {}), { code: 'usage', message: 'no config: pass -c FILE or set ERLMCP_SECRETS_CONFIG to the config\'s YAML or JSON text' });
});

t.test('rule options that need a format are refused without it; cert keys may contain dots', async (t) => {
  const problems = problemsOf(`
providers: { local: { type: file, path: x } }
secrets:
  a: { provider: local, require: { k: { bytes: 32 }, c: { expiresInMoreThanDays: 3, format: pem-private-key } } }
`);
  t.same(problems.sort(), [
    'agent.yaml: secrets.a.require.c.expiresInMoreThanDays: only applies with format: pem-certificate',
    'agent.yaml: secrets.a.require.k.bytes: only applies with format: base64 or hex',
  ]);
  const c = parseConfigText(
    `
providers: { local: { type: file, path: x } }
secrets:
  tls: { provider: local, require: { tls.crt: { format: pem-certificate }, tls.key: { format: pem-private-key, matchesCertificate: tls.tls.crt } } }
`,
    'agent.yaml',
    base,
  );
  t.equal(c.secrets.tls!.require['tls.key']!.matchesCertificate, 'tls.tls.crt');
  t.same(problemsOf(`
providers: { local: { type: file, path: x } }
secrets:
  tls: { provider: local, require: { tls.crt: {}, key: { format: pem-private-key, matchesCertificate: tls.crt } } }
`), ['agent.yaml: secrets.tls.require.key.matchesCertificate: secret "tls" declares no key "crt"']);
});

t.test('the contract\'s example config is accepted as written', async (t) => {
  const text = readFileSync(new URL('../fixtures/contract-agent.yaml', import.meta.url), 'utf8');
  const c = parseConfigText(text, 'contract.yaml', '/etc/erlmcp-secrets');
  t.same(Object.keys(c.providers), ['vault', 'aws', 'azure', 'gcp', 'local']);
  t.same(Object.keys(c.secrets), ['db', 'cookie', 'dbcreds', 'apikey']);
  t.same(c.templates.map((x) => x.destination), ['/run/secrets/erlmcp.env', '/run/secrets/erlang.cookie']);
  t.same(c.reload.map((r) => r.type), ['erlang', 'signal', 'exec', 'http']);
});
