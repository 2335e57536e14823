// The config schemas run on zod/mini with only zod's English locale loaded.
// These are the operator-facing messages and the parsed values as they were
// under zod's classic API, which the move to zod/mini must keep word for
// word: zod's own English texts (which need the locale that mini does not
// load by default), our custom messages (refinements, transforms, a
// discriminated union's error map, a url's error) and strict objects' unknown
// keys, plus defaults and transforms.

import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../agent/config/schema.ts';
import { durationSchema } from '../../agent/config/duration.ts';
import { reloadSchema } from '../../agent/config/reload-schema.ts';
import { requireSchema, ruleSchema } from '../../agent/config/rules-schema.ts';
import { issueLines } from '../../agent/config/issues.ts';
import { PROVIDER_TYPES } from '../../agent/providers/registry.ts';
import * as vault from '../../agent/providers/vault/schema.ts';
import * as file from '../../agent/providers/file/schema.ts';
import * as aws from '../../agent/providers/aws/schema.ts';
import * as azure from '../../agent/providers/azure/schema.ts';
import * as gcp from '../../agent/providers/gcp/schema.ts';
import { parseWebhookConfig, webhookConfigSchema } from '../../agent/webhook/webhook-config.ts';
import { AgentError } from '../../agent/errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Parser {
  safeParse(input: unknown): { success: true; data: unknown } | { success: false; error: Parameters<typeof issueLines>[0] };
}

function linesOf(schema: Parser, input: unknown): string[] {
  const r = schema.safeParse(input);
  if (r.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return issueLines(r.error);
}

function dataOf(schema: Parser, input: unknown): unknown {
  const r = schema.safeParse(input);
  if (!r.success) throw new Error(`expected ${JSON.stringify(input)} to parse: ${issueLines(r.error).join('; ')}`);
  return r.data;
}

const GUID0 = '00000000-0000-0000-0000-000000000000';

t.test("zod's English messages, as operators read them", async (t) => {
  const cases: Array<[string, Parser, unknown, string[]]> = [
    ['not an object', configSchema, null, ['Invalid input: expected object, received null']],
    ['no config at all', configSchema, undefined, ['Invalid input: expected object, received undefined']],
    ['a missing field', configSchema, { secrets: { s: {} } }, ['secrets.s.provider: required (expected string)']],
    ['a wrong type', configSchema, { output: { root: 1 } }, ['output.root: Invalid input: expected string, received number']],
    ['a record of the wrong type', configSchema, { providers: 5 }, ['providers: Invalid input: expected record, received number']],
    ['an array of the wrong type', configSchema, { templates: 'x' }, ['templates: Invalid input: expected array, received string']],
    ['a bad record key', configSchema, { exec: { env: { '1A': 'x' } } }, ['exec.env.1A: Invalid key in record']],
    ['a bad provider name', configSchema, { providers: { '1bad': { type: 'vault' } } }, ['providers.1bad: Invalid key in record']],
    ['an unknown key', configSchema, { log: { level: 'info', colour: true } }, ['log.colour: unknown key']],
    ['a top-level unknown key', configSchema, { extra: 1 }, ['extra: unknown key']],
    ['an enum', configSchema, { log: { level: 'loud' } }, ['log.level: Invalid option: expected one of "trace"|"debug"|"info"|"warn"|"error"|"fatal"|"silent"']],
    ['a non-integer', configSchema, { init: { concurrency: 2.5 } }, ['init.concurrency: Invalid input: expected int, received number']],
    ['>= bound', configSchema, { init: { concurrency: 0 } }, ['init.concurrency: Too small: expected number to be >=1']],
    ['<= bound', configSchema, { init: { concurrency: 65 } }, ['init.concurrency: Too big: expected number to be <=64']],
    ['> bound', configSchema, { refresh: { leaseRenewFraction: 0 } }, ['refresh.leaseRenewFraction: Too small: expected number to be >0']],
    ['< bound', configSchema, { refresh: { leaseRenewFraction: 1 } }, ['refresh.leaseRenewFraction: Too big: expected number to be <1']],
    ['a short string', configSchema, { templates: [{ source: '', destination: 'x' }] }, ['templates[0].source: Too small: expected string to have >=1 characters']],
    ['a short array', configSchema, { reload: [{ type: 'exec', command: [] }] }, ['reload[0].command: Too small: expected array to have >=1 items']],
    ['a long string', aws.secretSpecSchema, { id: 'x', versionId: 'x'.repeat(65) }, ['versionId: Too big: expected string to have <=64 characters']],
    ['a url', configSchema, { reload: [{ type: 'http', url: 'ftp://x' }] }, ['reload[0].url: Invalid URL']],
    ['a pattern without a message', webhookConfigSchema, { erlang: { cookie: { secret: '1' } } }, ['erlang.cookie.secret: Invalid string: must match pattern /^[A-Za-z][A-Za-z0-9_-]*$/']],
    ['a literal', aws.providerConfigSchema, { type: 'other', region: 'us-east-1' }, ['type: Invalid input: expected "aws"']],
    ['a union', configSchema, { reload: [{ type: 'http', url: 'http://x/', expectStatus: 'x' }] }, ['reload[0].expectStatus: expected number or list, received string']],
    ['a union whose branch fits: the problem inside it', configSchema, { secrets: { s: { provider: 'p', require: { password: { pattern: '([' } } } } }, ['secrets.s.require.password.pattern: not a valid regular expression']],
    ['a union of list or map given neither', configSchema, { secrets: { s: { provider: 'p', require: 5 } } }, ['secrets.s.require: expected list or map, received number']],
    ['a union given a list with a bad item', configSchema, { secrets: { s: { provider: 'p', require: [''] } } }, ['secrets.s.require[0]: Too small: expected string to have >=1 characters']],
    ['a discriminated union', configSchema, { reload: [{ type: 'nope' }] }, ["reload[0].type: Invalid discriminator value. Expected 'erlang' | 'signal' | 'exec' | 'http'"]],
    [
      'a discriminated union of credentials',
      azure.providerConfigSchema,
      { type: 'azure', vaultUrl: 'https://x', credential: {} },
      ["credential.type: Invalid discriminator value. Expected 'default' | 'workload' | 'managed' | 'clientSecret' | 'clientCertificate'"],
    ],
    ['a missing duration', configSchema, { init: { backoff: { initial: '1s' } } }, ['init.backoff.max: required (expected number or string)']],
  ];
  for (const [what, schema, input, lines] of cases) t.same(linesOf(schema, input), lines, what);
});

t.test('our own messages', async (t) => {
  const cases: Array<[string, Parser, unknown, string[]]> = [
    ['a duration', configSchema, { init: { timeout: 'soon' } }, ['init.timeout: "soon" is not a duration (use e.g. 30s, 5m, 1h, 250ms)']],
    ['a negative duration', durationSchema, -1, ['Too small: expected number to be >=0']],
    ['template mode', configSchema, { templates: [{ contents: 'a', destination: '/d', mode: '999' }] }, ['templates[0].mode: mode is octal like "0400"']],
    ['template mode as a number', configSchema, { templates: [{ contents: 'a', destination: '/d', mode: 0o7777 }] }, ['templates[0].mode: Too big: expected number to be <=511']],
    ['template source or contents', configSchema, { templates: [{ source: 'a', contents: 'b', destination: 'd' }] }, ['templates[0]: give exactly one of source or contents']],
    ['a secret name', configSchema, { secrets: { '9db': { provider: 'p' } } }, ['secrets.9db: Invalid key in record']],
    ['an env name', configSchema, { exec: { env: { 'A-B': 'x' } } }, ['exec.env.A-B: Invalid key in record']],
    ['an erlang node', reloadSchema, { type: 'erlang', node: 'erlmcp', call: 'x' }, ['node: must be name@host']],
    ['a signal target', reloadSchema, { type: 'signal', pidFile: 'a', processName: 'b' }, ['give exactly one of pidFile or processName']],
    ['a rule pattern', ruleSchema, { pattern: '(' }, ['pattern: not a valid regular expression']],
    ['a rule without its format', ruleSchema, { bytes: 4, expiresInMoreThanDays: 1 }, ['bytes: only applies with format: base64 or hex', 'expiresInMoreThanDays: only applies with format: pem-certificate']],
    ['a certificate reference', ruleSchema, { format: 'pem-private-key', matchesCertificate: 'tls' }, ['matchesCertificate: must name a certificate as "secret.key" (the key may contain dots: "tls.tls.crt")']],
    ['a vault address', vault.providerConfigSchema, { type: 'vault', address: 'vault:8200', auth: { method: 'token', tokenFile: 't' } }, ['address: address must be an http:// or https:// URL, e.g. https://vault.vault.svc:8200']],
    ['a vault address with a password', vault.providerConfigSchema, { type: 'vault', address: 'https://admin:CANARY-pw@vault:8200', auth: { method: 'token', tokenFile: 't' } }, ['address: address must not carry a user name or password (user:password@): Vault does not read them; give the credential through auth (e.g. auth.method token with tokenFile) instead']],
    ['a vault address with a user', vault.providerConfigSchema, { type: 'vault', address: 'http://admin@127.0.0.1:8200/', auth: { method: 'token', tokenFile: 't' } }, ['address: address must not carry a user name or password (user:password@): Vault does not read them; give the credential through auth (e.g. auth.method token with tokenFile) instead']],
    ['a vault address with a query', vault.providerConfigSchema, { type: 'vault', address: 'https://vault:8200?x=1', auth: { method: 'token', tokenFile: 't' } }, ['address: address must not have a query (?...) or fragment (#...): give only scheme, host and port, e.g. https://vault.vault.svc:8200']],
    ['a vault address with a fragment', vault.providerConfigSchema, { type: 'vault', address: 'https://vault:8200/#a', auth: { method: 'token', tokenFile: 't' } }, ['address: address must not have a query (?...) or fragment (#...): give only scheme, host and port, e.g. https://vault.vault.svc:8200']],
    ['a vault auth method', vault.providerConfigSchema, { type: 'vault', address: 'https://v', auth: { method: 'tok' } }, ['auth.method: must be one of token, kubernetes, approle, jwt, cert']],
    ['a vault token file', vault.providerConfigSchema, { type: 'vault', address: 'https://v', auth: { method: 'token', tokenFile: '' } }, ['auth.tokenFile: must name a file']],
    ['a vault role', vault.authSchema, { method: 'kubernetes', role: '' }, ['role: names the role of the Vault kubernetes auth method']],
    ['a vault timeout', vault.providerConfigSchema, { type: 'vault', address: 'https://v', auth: { method: 'token', tokenFile: 't' }, timeout: '0s' }, ['timeout: must be a duration like 10s or 1m']],
    ['a vault path', vault.secretSpecSchema, { path: '/a/' }, ['path: path is the API path without a leading "/" or "v1/", e.g. secret/data/app', 'path: path must not contain "?" or empty segments, nor end with "/"']],
    ['a file provider path', file.providerConfigSchema, { type: 'file', path: '' }, ['path: give the directory or file that holds the secrets']],
    ['a file secret path', file.secretSpecSchema, { path: '' }, ['path: Too small: expected string to have >=1 characters', 'path: must be a relative path below the provider directory, without ".." or empty segments']],
    ['a file select', file.secretSpecSchema, { select: 'a..b' }, ['select: use dotted keys like "erlmcp.db", without empty parts']],
    ['an aws region', aws.providerConfigSchema, { type: 'aws', region: 'mars' }, ['region: an AWS region like "us-east-1"']],
    ['an aws endpoint', aws.providerConfigSchema, { type: 'aws', region: 'us-east-1', endpoint: 'ftp://x' }, ['endpoint: an http(s) URL like "https://secretsmanager.us-east-1.amazonaws.com"']],
    ['an aws secret id', aws.secretSpecSchema, { id: '' }, ['id: the secret name or ARN']],
    ['aws stage and version', aws.secretSpecSchema, { id: 'x', versionStage: 'A', versionId: 'x'.repeat(36) }, ['give versionStage or versionId, not both']],
    ['an azure vault url', azure.providerConfigSchema, { type: 'azure', vaultUrl: 'http://x' }, ['vaultUrl: an https URL like "https://erlmcp.vault.azure.net"']],
    ['an azure client id', azure.providerConfigSchema, { type: 'azure', vaultUrl: 'https://x', credential: { type: 'default', clientId: 'bad' } }, ['credential.clientId: clientId is a GUID like 00000000-0000-0000-0000-000000000000']],
    ['an azure credential field', azure.providerConfigSchema, { type: 'azure', vaultUrl: 'https://x', credential: { type: 'managed', tenantId: GUID0 } }, ['credential.tenantId: unknown key']],
    ['an azure secret name', azure.secretSpecSchema, { name: 'a_b' }, ['name: a Key Vault secret name: 1-127 letters, digits and "-"']],
    ['an azure version', azure.secretSpecSchema, { name: 'ok', version: 'abc' }, ['version: a Key Vault version id: 32 hexadecimal characters']],
    ['a gcp project', gcp.providerConfigSchema, { type: 'gcp', project: 'X' }, ['project: a GCP project id like "my-project" or a project number']],
    ['gcp insecure', gcp.providerConfigSchema, { type: 'gcp', project: 'my-project', insecure: true }, ['insecure: insecure: true needs an endpoint (it is only for a local emulator)']],
    ['a gcp endpoint', gcp.providerConfigSchema, { type: 'gcp', project: 'my-project', endpoint: 'bad' }, ['endpoint: host:port, like "secretmanager.europe-west1.rep.googleapis.com:443"']],
    ['a gcp secret', gcp.secretSpecSchema, { name: 'a b' }, ['name: a secret id like "erlmcp-db" or "projects/P/secrets/S"']],
    ['a gcp version', gcp.secretSpecSchema, { name: 'x', version: '0' }, ['version: a version number, an alias, or "latest"']],
    ['a webhook quantity', webhookConfigSchema, { volume: { sizeLimit: 'x' } }, ['volume.sizeLimit: must be a Kubernetes quantity like "10m", "48Mi" or "1", got "x"']],
    ['a webhook path', webhookConfigSchema, { vault: { caFile: 'rel' } }, ['vault.caFile: an absolute path']],
    ['a webhook file mode', webhookConfigSchema, { fileMode: '999' }, ['fileMode: an octal file mode like "0440"']],
    ['a webhook erlang node', webhookConfigSchema, { erlang: { node: 'x' } }, ['erlang.node: name@host']],
  ];
  for (const [what, schema, input, lines] of cases) t.same(linesOf(schema, input), lines, what);
});

t.test('the webhook config error, as the webhook reports it', async (t) => {
  const err = t.throws(() => parseWebhookConfig({ mode: 'x', agent: { port: 0 } }, 'webhook.yaml')) as unknown;
  t.ok(err instanceof AgentError);
  t.equal((err as AgentError).message, 'webhook.yaml: 2 problems in the webhook config');
  t.same((err as AgentError).problems, [
    'webhook.yaml: agent.port: Too small: expected number to be >=1',
    'webhook.yaml: mode: Invalid option: expected one of "native-sidecar"|"sidecar"|"init-only"|"exec"',
  ]);
});

t.test('defaults and transforms', async (t) => {
  t.same(dataOf(configSchema, {}), {
    providers: {},
    secrets: {},
    templates: [],
    reload: [],
    output: { root: '/run/secrets' },
    refresh: { interval: 300_000, jitter: 0.1, wait: { min: 0 }, backoff: { initial: 10_000, max: 300_000 }, leaseRenewFraction: 2 / 3 },
    init: { timeout: 120_000, concurrency: 4, backoff: { initial: 250, max: 10_000 } },
    server: { listen: '127.0.0.1:9102', enabled: true, quit: false },
    shutdown: { revokeLeases: false },
    log: { level: 'info' },
  });
  // a block given partly gets its inner defaults
  t.same(dataOf(configSchema, { refresh: { interval: '1m', wait: { max: '2s' } }, exec: {} }), {
    ...(dataOf(configSchema, {}) as object),
    refresh: { interval: 60_000, jitter: 0.1, wait: { min: 0, max: 2000 }, backoff: { initial: 10_000, max: 300_000 }, leaseRenewFraction: 2 / 3 },
    exec: { env: {}, onChange: 'restart', stopSignal: 'SIGTERM', grace: 10_000 },
  });
  t.same(configSchema.parse({ templates: [{ contents: 'a', destination: '/d' }, { contents: 'a', destination: '/e', mode: '0640' }, { contents: 'a', destination: '/f', mode: 0o600 }] }).templates, [
    { contents: 'a', destination: '/d', mode: 0o400 },
    { contents: 'a', destination: '/e', mode: 0o640 },
    { contents: 'a', destination: '/f', mode: 0o600 },
  ]);
  for (const [input, ms] of [[30, 30_000], ['30s', 30_000], ['1h30m', 5_400_000], ['250ms', 250], [' 2m ', 120_000], [1.5, 1500]] as const) {
    t.equal(dataOf(durationSchema, input), ms, `duration ${JSON.stringify(input)}`);
  }
  t.same(dataOf(requireSchema, ['a', 'b']), { a: {}, b: {} });
  t.same(dataOf(requireSchema, { a: null, b: { minLength: 16 } }), { a: {}, b: { minLength: 16 } });
  t.same(dataOf(reloadSchema, { type: 'signal', pidFile: '/p' }), { type: 'signal', signal: 'SIGHUP', pidFile: '/p', timeout: 5_000 });
  t.same(dataOf(reloadSchema, { type: 'http', url: 'http://h/' }), {
    type: 'http',
    url: 'http://h/',
    method: 'POST',
    headers: {},
    expectStatus: 200,
    retries: 2,
    timeout: 10_000,
  });
  t.same(dataOf(vault.providerConfigSchema, { type: 'vault', address: 'https://v', auth: { method: 'kubernetes', role: 'r' }, tls: {}, timeout: '10s' }), {
    type: 'vault',
    address: 'https://v',
    auth: { method: 'kubernetes', role: 'r', mount: 'kubernetes', jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' },
    tls: { insecureSkipVerify: false },
    // no transform in a provider's schema: the provider parses it again
    timeout: '10s',
  });
  t.same(dataOf(azure.providerConfigSchema, { type: 'azure', vaultUrl: 'https://x.vault.azure.net' }), { type: 'azure', vaultUrl: 'https://x.vault.azure.net', credential: { type: 'default' } });
  const webhook = dataOf(webhookConfigSchema, {}) as Record<string, unknown>;
  t.same(webhook.agent, {
    image: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0',
    imagePullPolicy: 'IfNotPresent',
    binaryImage: 'ghcr.io/erlmcp/erlmcp-secrets:0.1.0-binary',
    allowImageOverride: false,
    allowedImagePrefixes: [],
    runAsUser: 65532,
    runAsGroup: 65532,
    resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '128Mi' } },
    port: 9102,
  });
  t.same(webhook.erlang, { node: 'erlmcp@127.0.0.1', cookie: { secret: 'cookie', key: 'value', ref: 'vault:secret/data/erlang/cookie' } });
  // a default is a fresh copy each time: changing one parse's result leaves the next alone
  (dataOf(configSchema, {}) as { providers: Record<string, unknown> }).providers.x = 1;
  t.same((dataOf(configSchema, {}) as { providers: unknown }).providers, {});
});

t.test('every registered provider type parses with the same zod', async (t) => {
  for (const [type, p] of Object.entries(PROVIDER_TYPES)) {
    t.equal(p.configSchema.safeParse(null).success, false, `${type} refuses a null provider block`);
    t.same(linesOf(p.configSchema, 7), ['Invalid input: expected object, received number'], `${type}: English message`);
  }
});

// A provider's schema is also parsed on its own (in its provider module, and
// in the bundle's provider chunk): importing any one schema module must set
// up English messages, not only the config loader.
t.test('a provider schema alone gives English messages', async (t) => {
  // the aws/azure/gcp providers put these raw messages into their errors
  const missing = 'Invalid input: expected string, received undefined';
  const expected: Record<string, string[]> = {
    aws: [missing, 'Unrecognized keys: "unexpectedKey", "json"'],
    azure: [missing, 'Invalid input: expected boolean, received number', 'Unrecognized key: "unexpectedKey"'],
    gcp: [missing, 'Invalid input: expected boolean, received number', 'Unrecognized key: "unexpectedKey"'],
    vault: [missing, 'Unrecognized keys: "unexpectedKey", "json"'],
    file: ['Unrecognized keys: "unexpectedKey", "json"'],
  };
  for (const [type, messages] of Object.entries(expected)) {
    const script = `const m = await import(${JSON.stringify(path.join(ROOT, `agent/providers/${type}/schema.ts`))});
const r = m.secretSpecSchema.safeParse({ unexpectedKey: 1, json: 5 });
process.stdout.write(JSON.stringify(r.error.issues.map((i) => i.message)));`;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${type}: exit ${code}`))));
    });
    t.same(JSON.parse(out), messages, type);
  }
});

t.test('the agent uses zod/mini, never the classic API', async (t) => {
  const classic: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && /from ['"]zod(\/v4)?(\/classic)?['"]/.test(readFileSync(p, 'utf8'))) classic.push(path.relative(ROOT, p));
    }
  };
  walk(path.join(ROOT, 'agent'));
  t.same(classic, [], 'no agent module imports zod classic (it brings every locale and a method set per schema)');
});

const BUNDLE = path.join(ROOT, 'dist/erlmcp-secrets.js');
t.test('the built bundle holds English messages only and no classic zod', { skip: existsSync(BUNDLE) ? false : 'no dist/erlmcp-secrets.js: run npm run build' }, async (t) => {
  const text = readFileSync(BUNDLE, 'utf8');
  t.match(text, 'Too small: expected', "zod's English messages are there");
  t.notMatch(text, 'Ongeldige invoer', 'the other locales are not (Dutch here)');
  t.notMatch(text, /[^$\w]ZodOptional\b/, "nor zod's classic schemas");
});
