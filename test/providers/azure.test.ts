// The azure provider against a Key Vault fake (test/fakes/azure-keyvault.ts):
// real HTTPS on 127.0.0.1 with a certificate from a test CA that the
// provider trusts through its caFile option, and the real bearer-challenge
// handshake of @azure/keyvault-secrets.

import t from 'tap';
import * as identity from '@azure/identity';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, createWithCredential } from '../../agent/providers/azure/provider.ts';
import { buildCredential } from '../../agent/providers/azure/credential.ts';
import type { Provider, SecretRef } from '../../agent/providers/provider.ts';
import { AgentError } from '../../agent/errors.ts';
import { freeLoopbackPort } from '../helpers/emulators.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { makeCertificate } from '../helpers/openssl-certs.ts';
import { ACCESS_DENIED_BODY, THROTTLED_BODY, startAzureFake } from '../fakes/azure-keyvault.ts';
import { startManagedIdentityFake } from '../fakes/azure-managed-identity.ts';
import { rejectionRecorder } from '../helpers/rejection.ts';

const CANARIES = {
  password: 'CANARY-az-pw-1d9f3b7c',
  plain: 'CANARY-az-plain-8c2e6a40',
  rotated: 'CANARY-az-rotated-f00dcafe',
  pfx: Buffer.from('CANARY-az-pfx-5a5a3c3c').toString('base64'),
  clientSecret: 'CANARY-az-cs-77aa90bd',
  token: 'CANARY-az-token-e1e2e3e4',
  miToken: 'CANARY-az-mi-token-0b1c2d3e',
};
const ALL_CANARIES = Object.values(CANARIES);

/** what lowkey-vault's docs suggest too: any bearer token, the vault only checks it is there */
class StaticTokenCredential implements TokenCredential {
  requests: { scopes: string[]; tenantId: string | undefined }[] = [];
  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    this.requests.push({ scopes: [scopes].flat(), tenantId: options?.tenantId });
    return { token: CANARIES.token, expiresOnTimestamp: Date.now() + 3_600_000 };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'erlmcp-azure-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ca = makeCertificate({ days: 2, cn: 'erlmcp-test-ca' });
const serverCert = makeCertificate({ days: 2, cn: 'localhost', issuer: { certPem: ca.certPem, keyPem: ca.keyPem } });
writeFileSync(join(dir, 'vault-ca.pem'), ca.certPem);

const started = performance.now();
const fake = await startAzureFake(serverCert);
t.comment(`azure fake ready on ${fake.vaultUrl} after ${Math.round(performance.now() - started)} ms`);
t.teardown(() => fake.close());

const log = memoryLogger();
const errorTexts: string[] = [];
let clock = Date.now();
const ctx = { logger: log.logger, baseDir: dir, now: () => clock };
const config = { type: 'azure', vaultUrl: fake.vaultUrl, caFile: 'vault-ca.pem', disableChallengeResourceVerification: true };
const credential = new StaticTokenCredential();
const provider: Provider = await createWithCredential('azure', config, ctx, credential);
t.teardown(() => provider.close());
const signal = new AbortController().signal;
const ref = (name: string, spec: Record<string, unknown>): SecretRef => ({ name, spec });

const rejection = rejectionRecorder(log.logger, errorTexts);

const dbVersion = fake.setSecret('erlmcp-db', JSON.stringify({ username: 'erlmcp', password: CANARIES.password, port: 5432, tls: { verify: true } }), { contentType: 'application/json; charset=utf-8' });
fake.setSecret('erlmcp-cookie', CANARIES.plain);
fake.setSecret('erlmcp-settings', JSON.stringify({ password: CANARIES.password }));
fake.setSecret('erlmcp-pfx', CANARIES.pfx, { contentType: 'application/x-pkcs12' });

t.test('contentType application/json explodes the value; version is the id\'s last segment', async (t) => {
  fake.resetCounts();
  const v = await provider.fetch(ref('db', { name: 'erlmcp-db' }), signal);
  t.same(v.data, { username: 'erlmcp', password: CANARIES.password, port: '5432', tls: '{"verify":true}' });
  t.equal(v.version, dbVersion);
  t.equal(fake.operations(), 1, 'one billed GET');
  t.equal(fake.challenges(), 1, 'the first call learnt the challenge');
  t.same(credential.requests.at(-1), { scopes: ['https://vault.azure.net/.default'], tenantId: fake.tenantId }, 'token asked for the challenge\'s resource and tenant');
  fake.resetCounts();
  await provider.fetch(ref('db', { name: 'erlmcp-db' }), signal);
  t.equal(fake.challenges(), 0, 'later calls reuse the challenge and token');
  t.equal(fake.operations(), 1);
});

t.test('json: true explodes without a contentType; otherwise the value is key `value`', async (t) => {
  t.same((await provider.fetch(ref('settings', { name: 'erlmcp-settings', json: true }), signal)).data, { password: CANARIES.password });
  t.same((await provider.fetch(ref('settings', { name: 'erlmcp-settings' }), signal)).data, { value: JSON.stringify({ password: CANARIES.password }) });
  t.same((await provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal)).data, { value: CANARIES.plain });
});

t.test('binary material (a PFX, stored base64 by Key Vault) stays base64 in `value`', async (t) => {
  const v = await provider.fetch(ref('pfx', { name: 'erlmcp-pfx' }), signal);
  t.same(v.data, { value: CANARIES.pfx });
});

t.test('a JSON contentType on a non-object value is a `validation` error', async (t) => {
  fake.setSecret('erlmcp-badjson', CANARIES.plain, { contentType: 'application/json' });
  const e = await rejection(provider.fetch(ref('badjson', { name: 'erlmcp-badjson' }), signal));
  t.equal(e.code, 'validation');
  t.equal(e.message, 'azure provider "azure": the value of secret "erlmcp-badjson" is not a JSON object, but its contentType is application/json or secrets.badjson.json is true: store a JSON object, or drop json and the contentType to read it as key "value"');
});

t.test('SecretNotFound: a missing or deleted secret and a missing version are `missing`', async (t) => {
  const e = await rejection(provider.fetch(ref('ghost', { name: 'no-such-secret' }), signal));
  t.equal(e.code, 'missing');
  t.equal(e.where, 'secrets.ghost');
  t.equal(e.message, `azure provider "azure": secret "no-such-secret" was not found in ${fake.vaultUrl}: check secrets.ghost.name; if it was deleted recently, recover it with \`az keyvault secret recover --vault-name localhost --name no-such-secret\``);
  fake.setSecret('erlmcp-gone', CANARIES.plain);
  fake.deleteSecret('erlmcp-gone');
  t.equal((await rejection(provider.fetch(ref('gone', { name: 'erlmcp-gone' }), signal))).code, 'missing');
  const v = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db', version: '0123456789abcdef0123456789abcdef' }), signal));
  t.equal(v.code, 'missing');
  t.equal(v.message, `azure provider "azure": secret "erlmcp-db" version 0123456789abcdef0123456789abcdef was not found in ${fake.vaultUrl}: check secrets.db.version (\`az keyvault secret list-versions --vault-name localhost --name erlmcp-db\`)`);
});

t.test('a disabled secret (403 SecretDisabled) is `missing` with the enable command', async (t) => {
  const id = fake.setSecret('erlmcp-off', CANARIES.plain);
  fake.setEnabled('erlmcp-off', id, false);
  const e = await rejection(provider.fetch(ref('off', { name: 'erlmcp-off' }), signal));
  t.equal(e.code, 'missing');
  t.equal(e.message, `azure provider "azure": the current version of secret "erlmcp-off" in ${fake.vaultUrl} is disabled: enable it with \`az keyvault secret set-attributes --vault-name localhost --name erlmcp-off --enabled true\` or set a new version`);
  const pinned = await rejection(provider.fetch(ref('off', { name: 'erlmcp-off', version: id }), signal));
  t.equal(pinned.message, `azure provider "azure": secret "erlmcp-off" version ${id} in ${fake.vaultUrl} is disabled: enable it with \`az keyvault secret set-attributes --vault-name localhost --name erlmcp-off --version ${id} --enabled true\` or set a new version`);
});

t.test('an expired or not-yet-valid secret is refused with its own message', async (t) => {
  const when = new Date(Math.floor(clock / 1000) * 1000 - 60_000);
  fake.setSecret('erlmcp-expired', CANARIES.plain, { expiresOn: when });
  const e = await rejection(provider.fetch(ref('expired', { name: 'erlmcp-expired' }), signal));
  t.equal(e.code, 'missing');
  t.equal(e.message, `azure provider "azure": secret "erlmcp-expired" in ${fake.vaultUrl} expired at ${when.toISOString()}: set a new version (\`az keyvault secret set --vault-name localhost --name erlmcp-expired ...\`) or extend it (\`az keyvault secret set-attributes --vault-name localhost --name erlmcp-expired --expires ...\`)`);
  const later = new Date(Math.floor(clock / 1000) * 1000 + 3_600_000);
  fake.setSecret('erlmcp-future', CANARIES.plain, { notBefore: later });
  const nb = await rejection(provider.fetch(ref('future', { name: 'erlmcp-future' }), signal));
  t.equal(nb.code, 'missing');
  t.equal(nb.message, `azure provider "azure": secret "erlmcp-future" in ${fake.vaultUrl} is not valid before ${later.toISOString()} (its notBefore attribute): wait, or change it with \`az keyvault secret set-attributes --vault-name localhost --name erlmcp-future --not-before ...\``);
  // the injected clock decides, not the wall clock
  clock = later.getTime() + 1;
  t.teardown(() => void (clock = Date.now()));
  t.same((await provider.fetch(ref('future', { name: 'erlmcp-future' }), signal)).data, { value: CANARIES.plain });
});

t.test('403 AccessDenied / ForbiddenByRbac are `auth`', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('erlmcp-db', { status: 403, body: ACCESS_DENIED_BODY('erlmcp') });
  const e = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'auth');
  t.equal(e.retryable, false);
  t.equal(e.message, `azure provider "azure": access denied reading secret "erlmcp-db" in ${fake.vaultUrl} (AccessDenied): give the identity the "Key Vault Secrets User" role on the vault or secret (RBAC vaults), or the "get" secret permission in the vault's access policy`);
  fake.fail('erlmcp-cookie', { status: 403, body: { error: { code: 'Forbidden', message: "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=...\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'", innererror: { code: 'ForbiddenByRbac' } } } });
  const rbac = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal));
  t.equal(rbac.code, 'auth');
  t.match(rbac.message, /\(ForbiddenByRbac\): give the identity the "Key Vault Secrets User" role/);
});

t.test('429 Throttled and 5xx are retryable `unavailable`, tried once', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('erlmcp-db', { status: 429, body: THROTTLED_BODY, headers: { 'retry-after': '1' } });
  fake.resetCounts();
  const e = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, true);
  t.equal(e.message, 'azure provider "azure": Key Vault throttled the request for secret "erlmcp-db" (HTTP 429 Throttled); will retry with backoff, not before its Retry-After of 1 s');
  t.equal(e.retryAfterMs, 1000, 'Retry-After is kept for the scheduler');
  t.equal(e.throttled, true, 'a 429: we ask too often');
  t.equal(fake.operations(), 1, 'the SDK did not retry behind our back');
  fake.fail('erlmcp-cookie', { status: 503, body: { error: { code: 'ServiceUnavailable', message: 'The service is unavailable.' } } });
  const down = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal));
  t.equal(down.code, 'unavailable');
  t.equal(down.retryable, true);
  t.equal(down.message, 'azure provider "azure": Key Vault failed the request for secret "erlmcp-cookie" (HTTP 503); will retry');
  t.equal(down.throttled, false, 'a 503 is a failure, not a refusal to be asked');
});

t.test('429 with an HTTP-date Retry-After, or none: throttled either way', async (t) => {
  t.teardown(() => fake.clearFailures());
  const base = 'azure provider "azure": Key Vault throttled the request for secret "erlmcp-db" (HTTP 429 Throttled); will retry with backoff';
  fake.fail('erlmcp-db', { status: 429, body: THROTTLED_BODY, headers: { 'retry-after': new Date(Date.now() + 10_000).toUTCString() } });
  const dated = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(dated.code, 'unavailable');
  t.equal(dated.throttled, true);
  t.ok(dated.retryAfterMs !== undefined && dated.retryAfterMs > 8_000 && dated.retryAfterMs <= 10_000, `an HTTP date 10 s ahead: ${dated.retryAfterMs} ms`);
  t.equal(dated.message, `${base}, not before its Retry-After of ${Math.ceil(dated.retryAfterMs! / 1000)} s`);
  fake.clearFailures();
  fake.fail('erlmcp-db', { status: 429, body: THROTTLED_BODY });
  const bare = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(bare.throttled, true);
  t.equal(bare.retryAfterMs, undefined);
  t.equal(bare.message, base);
  fake.clearFailures();
  t.equal((await provider.fetch(ref('db', { name: 'erlmcp-db' }), signal)).data.password, CANARIES.password, 'the next call goes through');
  t.ok(fake.tokens.length > 0, 'bearer tokens were issued, and are checked for too');
  assertNoLeak(t, [dated.message, bare.message, log.text()], [...ALL_CANARIES, ...fake.tokens]);
});

t.test('429 with Azure\'s millisecond forms (retry-after-ms, x-ms-retry-after-ms): they win over retry-after', async (t) => {
  t.teardown(() => fake.clearFailures());
  const base = 'azure provider "azure": Key Vault throttled the request for secret "erlmcp-db" (HTTP 429 Throttled); will retry with backoff';
  for (const [header, value, ms] of [['retry-after-ms', '1500', 1500], ['x-ms-retry-after-ms', '250', 250]] as const) {
    fake.clearFailures();
    fake.fail('erlmcp-db', { status: 429, body: THROTTLED_BODY, headers: { [header]: value, 'retry-after': '30' } });
    const e = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
    t.equal(e.throttled, true);
    t.equal(e.retryAfterMs, ms, `${header}: ${value} ms, not retry-after's 30 s`);
    t.equal(e.message, `${base}, not before its Retry-After of ${Math.ceil(ms / 1000)} s`);
  }
  fake.clearFailures();
  fake.fail('erlmcp-db', { status: 429, body: THROTTLED_BODY, headers: { 'retry-after-ms': 'soon', 'retry-after': '2' } });
  const unreadable = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(unreadable.retryAfterMs, 2000, 'an unreadable retry-after-ms falls back to retry-after');
  assertNoLeak(t, [unreadable.message, log.text()], [...ALL_CANARIES, ...fake.tokens]);
});

t.test('an unreachable vault is retryable `unavailable`', async (t) => {
  const port = await freeLoopbackPort();
  const dead = await createWithCredential('azure', { ...config, vaultUrl: `https://localhost:${port}` }, ctx, credential);
  const e = await rejection(dead.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, true);
  t.equal(e.message, `azure provider "azure": cannot reach Key Vault at https://localhost:${port} (ECONNREFUSED); will retry`);
});

t.test('without caFile the private CA is not trusted, and the error says so', async (t) => {
  const { caFile: _, ...noCa } = config;
  const untrusting = await createWithCredential('azure', noCa, ctx, credential);
  const e = await rejection(untrusting.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, false);
  t.match(e.message, new RegExp(`^azure provider "azure": TLS verification of ${fake.vaultUrl} failed \\([A-Z_]+\\): if the vault uses a private CA, set providers.azure.caFile to it$`));
  const missing = await rejection(createWithCredential('azure', { ...config, caFile: 'nope.pem' }, ctx, credential));
  t.equal(missing.code, 'config');
  t.equal(missing.message, `azure provider "azure": cannot read caFile ${join(dir, 'nope.pem')} (ENOENT)`);
});

t.test('a challenge for another domain is refused unless disableChallengeResourceVerification', async (t) => {
  const { disableChallengeResourceVerification: _, ...strict } = config;
  const p = await createWithCredential('azure', strict, ctx, credential);
  const e = await rejection(p.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'config');
  t.equal(e.message, `azure provider "azure": the vault at ${fake.vaultUrl} answered with an auth challenge for a resource outside its domain: if vaultUrl is a private endpoint under a custom name or an emulator, set providers.azure.disableChallengeResourceVerification: true`);
});

t.test('rotation: a new version is seen by the next fetch, one billed GET per check', async (t) => {
  t.equal(provider.changed, undefined, 'no changed(): Key Vault has no cheaper read than the GET itself');
  fake.setSecret('erlmcp-rotating', CANARIES.plain);
  const r = ref('rotating', { name: 'erlmcp-rotating' });
  const v1 = await provider.fetch(r, signal);
  fake.resetCounts();
  const same = await provider.fetch(r, signal);
  t.equal(same.version, v1.version, 'unchanged: same version');
  const id2 = fake.setSecret('erlmcp-rotating', CANARIES.rotated);
  const v2 = await provider.fetch(r, signal);
  t.not(v2.version, v1.version);
  t.equal(v2.version, id2);
  t.same(v2.data, { value: CANARIES.rotated });
  t.same(Object.fromEntries(fake.gets), { 'erlmcp-rotating': 2 }, 'one GET per check, changed or not');
  // the old version stays readable when pinned
  t.same((await provider.fetch(ref('rotating', { name: 'erlmcp-rotating', version: v1.version }), signal)).data, { value: CANARIES.plain });
});

t.test('no credential in the environment is `auth` with the workload identity hint', async (t) => {
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  delete process.env.AZURE_CLIENT_ID;
  delete process.env.AZURE_TENANT_ID;
  delete process.env.AZURE_FEDERATED_TOKEN_FILE;
  // WorkloadIdentityCredential refuses at construction: the agent fails at start-up
  const e = await rejection(create('azure', { ...config, credential: { type: 'workload' } }, ctx));
  t.equal(e.code, 'auth');
  t.equal(e.where, 'providers.azure.credential');
  t.equal(e.message, 'azure provider "azure": no Azure credential available (credential type workload): on AKS use workload identity (pod label azure.workload.identity/use: "true" and the service account annotated with azure.workload.identity/client-id); elsewhere a managed identity, or AZURE_CLIENT_ID with AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET');
});

t.test('credential type managed, end to end: the identity endpoint\'s token reaches the vault', async (t) => {
  const mi = await startManagedIdentityFake(CANARIES.miToken);
  t.teardown(() => mi.close());
  const saved = { ...process.env };
  const keys = ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER', 'IMDS_ENDPOINT', 'IDENTITY_SERVER_THUMBPRINT', 'MSI_ENDPOINT', 'MSI_SECRET'];
  t.teardown(() => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  for (const k of keys) delete process.env[k];
  process.env.IDENTITY_ENDPOINT = mi.endpoint;
  process.env.IDENTITY_HEADER = mi.identityHeader;
  const clientId = '0e4f6a8c-1b2d-4c3e-8f5a-6b7c8d9e0f1a';
  const p = await create('azure', { ...config, credential: { type: 'managed', clientId } }, ctx);
  fake.resetCounts();
  const v = await p.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal);
  t.same(v.data, { value: CANARIES.plain });
  t.equal(mi.requests.length, 1, 'one token request');
  t.same(mi.requests[0], { resource: 'https://vault.azure.net', clientId, apiVersion: '2019-08-01', identityHeader: mi.identityHeader }, 'asked for the vault resource, as the user-assigned identity');
  t.same(fake.tokens, [CANARIES.miToken], 'the vault saw exactly the token the identity endpoint issued');
});

t.test('a credential that fails at token time is `auth`, naming the credential type', async (t) => {
  const unavailable: TokenCredential = { getToken: async () => { throw new identity.CredentialUnavailableError('ManagedIdentityCredential: no managed identity endpoint found'); } };
  const p1 = await createWithCredential('azure', { ...config, credential: { type: 'managed' } }, ctx, unavailable);
  const e1 = await rejection(p1.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e1.code, 'auth');
  t.match(e1.message, /^azure provider "azure": no Azure credential available \(credential type managed\): on AKS use workload identity/);
  const refused: TokenCredential = { getToken: async () => { throw new identity.AuthenticationError(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' }); } };
  const p2 = await createWithCredential('azure', config, ctx, refused);
  const e2 = await rejection(p2.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e2.code, 'auth');
  t.equal(e2.message, 'azure provider "azure": Microsoft Entra ID refused to issue a token for the vault (credential type default): check the client id, tenant id, the federated credential or secret, and that the identity exists');
});

t.test('credential: each type builds its @azure/identity class; secrets come from files', async (t) => {
  const tenantId = '11111111-2222-4333-8444-555555555555';
  const clientId = '66666666-7777-4888-9999-000000000000';
  writeFileSync(join(dir, 'client-secret'), CANARIES.clientSecret + '\n', { mode: 0o600 });
  const files: string[] = [];
  const deps = { identity, resolvePath: (p: string) => join(dir, p), readText: (p: string) => (files.push(p), `${CANARIES.clientSecret}\n`) };
  t.ok(buildCredential('azure', { type: 'default' }, deps) instanceof identity.DefaultAzureCredential);
  t.ok(buildCredential('azure', { type: 'workload', clientId, tenantId, tokenFile: 'token' }, deps) instanceof identity.WorkloadIdentityCredential);
  t.ok(buildCredential('azure', { type: 'managed', clientId }, deps) instanceof identity.ManagedIdentityCredential);
  t.ok(buildCredential('azure', { type: 'clientSecret', tenantId, clientId, clientSecretFile: 'client-secret' }, deps) instanceof identity.ClientSecretCredential);
  t.same(files, [join(dir, 'client-secret')]);
  const missing = await rejection(create('azure', { ...config, credential: { type: 'clientSecret', tenantId, clientId, clientSecretFile: 'absent' } }, ctx));
  t.equal(missing.code, 'config');
  t.equal(missing.message, `azure provider "azure": cannot read credential.clientSecretFile ${join(dir, 'absent')} (ENOENT)`);
});

t.test('bad provider config and secret specs are `config` errors', async (t) => {
  const bad = await rejection(create('azure', { type: 'azure', vaultUrl: 'http://x.vault.azure.net', credential: { type: 'clientSecret', clientId: 'nope' } }, ctx));
  t.equal(bad.code, 'config');
  t.same(bad.problems, [
    'providers.azure.vaultUrl: an https URL like "https://erlmcp.vault.azure.net"',
    'providers.azure.credential.tenantId: Invalid input: expected string, received undefined',
    'providers.azure.credential.clientId: clientId is a GUID like 00000000-0000-0000-0000-000000000000',
    'providers.azure.credential.clientSecretFile: Invalid input: expected string, received undefined',
  ]);
  const spec = await rejection(provider.fetch(ref('db', { name: 'bad_name', version: 'v1' }), signal));
  t.equal(spec.code, 'config');
  t.same(spec.problems, ['secrets.db.name: a Key Vault secret name: 1-127 letters, digits and "-"', 'secrets.db.version: a Key Vault version id: 32 hexadecimal characters']);
  t.equal(provider.describe(ref('db', { name: 'erlmcp-db' })), `azure secret "erlmcp-db" in ${fake.vaultUrl}`);
});

t.test('no canary value (nor the token) in any error message or log line', async (t) => {
  t.ok(log.text().includes('azure secret fetched'));
  t.ok(errorTexts.length > 10);
  assertNoLeak(t, [log.text(), ...errorTexts], ALL_CANARIES);
});
