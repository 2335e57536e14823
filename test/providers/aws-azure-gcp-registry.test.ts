// The registry knows aws, azure and gcp by their light schemas: loading the
// registry (what `check` does) loads no cloud SDK, and only a provider's own
// load() brings its SDK in. Checked in a child process that records every
// module Node resolves.

import t from 'tap';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { PROVIDER_TYPES } from '../../agent/providers/registry.ts';

const registryUrl = pathToFileURL(resolve(import.meta.dirname, '../../agent/providers/registry.ts')).href;
const SDK = /node_modules\/(@aws-sdk|@azure|@google-cloud|google-gax|@grpc)\//;

/** which SDK packages a fresh Node loads for `script` (after the registry is imported) */
function sdkPackagesLoadedBy(script: string): string[] {
  const child = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    const { PROVIDER_TYPES } = await import(${JSON.stringify(registryUrl)});
    ${script}
    const pkgs = [...seen].filter((u) => ${SDK}.test(u)).map((u) => u.match(${SDK})[1]);
    process.stdout.write(JSON.stringify([...new Set(pkgs)].sort()));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8', cwd: resolve(import.meta.dirname, '../..') });
  return JSON.parse(out) as string[];
}

t.test('importing the registry loads no cloud SDK', async (t) => {
  t.same(sdkPackagesLoadedBy(''), []);
});

t.test('each load() brings in its own SDK only', async (t) => {
  t.same(sdkPackagesLoadedBy('await PROVIDER_TYPES.aws.load();'), ['@aws-sdk']);
  t.same(sdkPackagesLoadedBy('await PROVIDER_TYPES.azure.load();'), ['@azure']);
  t.same(sdkPackagesLoadedBy('await PROVIDER_TYPES.gcp.load();'), ['@google-cloud', '@grpc', 'google-gax']);
});

t.test("the contract's examples pass the registry's schemas", async (t) => {
  t.ok(PROVIDER_TYPES.aws!.configSchema.safeParse({ type: 'aws', region: 'us-east-1' }).success);
  t.ok(PROVIDER_TYPES.azure!.configSchema.safeParse({ type: 'azure', vaultUrl: 'https://erlmcp.vault.azure.net' }).success);
  t.ok(PROVIDER_TYPES.gcp!.configSchema.safeParse({ type: 'gcp', project: 'my-project' }).success);
  t.ok(PROVIDER_TYPES.aws!.secretSchema.safeParse({ id: 'erlmcp/api-key' }).success);
  t.ok(PROVIDER_TYPES.aws!.secretSchema.safeParse({ id: 'erlmcp/api-key', versionStage: 'AWSPREVIOUS' }).success);
  t.ok(PROVIDER_TYPES.azure!.secretSchema.safeParse({ name: 'erlmcp-api-key', version: '0123456789abcdef0123456789abcdef' }).success);
  t.ok(PROVIDER_TYPES.gcp!.secretSchema.safeParse({ name: 'erlmcp-api-key', version: '3' }).success);
});

t.test('unknown fields are refused with their path (a typo must not pass silently)', async (t) => {
  const aws = PROVIDER_TYPES.aws!.secretSchema.safeParse({ id: 'x', versionstage: 'AWSCURRENT' });
  t.notOk(aws.success);
  t.same(aws.error?.issues.map((i) => i.message), ['Unrecognized key: "versionstage"']);
  const azure = PROVIDER_TYPES.azure!.configSchema.safeParse({ type: 'azure', vaultUrl: 'https://v.vault.azure.net', credential: { type: 'password' } });
  t.notOk(azure.success);
  t.same(azure.error?.issues.map((i) => i.path.join('.')), ['credential.type']);
  const gcp = PROVIDER_TYPES.gcp!.configSchema.safeParse({ type: 'gcp', project: 'my-project', endpoint: 'http://localhost:9090' });
  t.same(gcp.error?.issues.map((i) => i.message), ['host:port, like "secretmanager.europe-west1.rep.googleapis.com:443"']);
});
