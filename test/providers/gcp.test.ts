// The gcp provider against a Secret Manager gRPC fake (test/fakes/
// gcp-secret-manager.ts): real gRPC over HTTP/2 on 127.0.0.1, the client
// library's own service definition, plaintext via the `insecure` option.

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { create } from '../../agent/providers/gcp/provider.ts';
import { crc32c } from '../../agent/providers/gcp/crc32c.ts';
import { retryDelayMs } from '../../agent/providers/gcp/errors.ts';
import type { Provider, SecretRef } from '../../agent/providers/provider.ts';
import { AgentError } from '../../agent/errors.ts';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort } from '../helpers/emulators.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { startGcpFake } from '../fakes/gcp-secret-manager.ts';
import { rejectionRecorder } from '../helpers/rejection.ts';

const CANARIES = {
  password: 'CANARY-gcp-pw-5b2e8c4a',
  plain: 'CANARY-gcp-plain-a17d93f0',
  rotated: 'CANARY-gcp-rotated-6e0b1c2d',
  binary: 'CANARY-gcp-bin-93ab7e11',
  disabled: 'CANARY-gcp-disabled-c4d5e6f7',
};
const ALL_CANARIES = Object.values(CANARIES);

// Any probe of the GCE metadata server goes to this loopback counter instead
// of 169.254.169.254, and the file asserts at the end that none was made.
const metadataProbes: string[] = [];
const metadataServer = createServer((req, res) => {
  metadataProbes.push(req.url ?? '');
  res.writeHead(404).end();
});
await new Promise<void>((ok) => metadataServer.listen(0, '127.0.0.1', ok));
t.teardown(() => new Promise<void>((ok) => metadataServer.close(() => ok())));
process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadataServer.address() as AddressInfo).port}`;

const started = performance.now();
const fake = await startGcpFake();
t.comment(`gcp fake ready on ${fake.endpoint} after ${Math.round(performance.now() - started)} ms`);
t.teardown(() => fake.close());
const log = memoryLogger();
const errorTexts: string[] = [];
const ctx = { logger: log.logger, baseDir: process.cwd(), now: () => Date.now() };
const provider: Provider = await create('gcp', { type: 'gcp', project: fake.projectId, endpoint: fake.endpoint, insecure: true }, ctx);
t.teardown(() => provider.close());
const signal = new AbortController().signal;
const ref = (name: string, spec: Record<string, unknown>): SecretRef => ({ name, spec });

const rejection = rejectionRecorder(log.logger, errorTexts);

fake.createSecret('erlmcp-db');
fake.addVersion('erlmcp-db', JSON.stringify({ username: 'erlmcp', password: CANARIES.password, port: 5432, tls: { verify: true } }));
fake.createSecret('erlmcp-cookie');
fake.addVersion('erlmcp-cookie', CANARIES.plain);
const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x80, ...Buffer.from(CANARIES.binary)]);
fake.createSecret('erlmcp-keystore');
fake.addVersion('erlmcp-keystore', BINARY);

t.test('crc32c matches the RFC 3720 / iSCSI test vectors', async (t) => {
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.equal(crc32c(new Uint8Array(0)), 0);
});

t.test('json: true explodes a JSON object payload; version is the resolved number', async (t) => {
  fake.resetCounts();
  const v = await provider.fetch(ref('db', { name: 'erlmcp-db', json: true }), signal);
  t.same(v.data, { username: 'erlmcp', password: CANARIES.password, port: '5432', tls: '{"verify":true}' });
  t.equal(v.version, '1', '`latest` resolved to version 1');
  t.same(Object.fromEntries(fake.calls), { AccessSecretVersion: 1 });
});

t.test('without json the payload is key `value`, even when it is JSON', async (t) => {
  t.same((await provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal)).data, { value: CANARIES.plain });
  const raw = await provider.fetch(ref('db', { name: 'erlmcp-db' }), signal);
  t.same(Object.keys(raw.data), ['value']);
  t.equal(JSON.parse(raw.data.value ?? '').password, CANARIES.password);
});

t.test('binary payloads: encoding base64 gives them, utf8 refuses them clearly', async (t) => {
  const v = await provider.fetch(ref('keystore', { name: 'erlmcp-keystore', encoding: 'base64' }), signal);
  t.equal(v.data.value, BINARY.toString('base64'));
  const e = await rejection(provider.fetch(ref('keystore', { name: 'erlmcp-keystore' }), signal));
  t.equal(e.code, 'validation');
  t.equal(e.message, 'gcp provider "gcp": the payload of secret "erlmcp-keystore" (version latest) is not UTF-8 text: set secrets.keystore.encoding: base64 to read binary data');
});

t.test('json: true on a payload that is not a JSON object is a `validation` error', async (t) => {
  const e = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie', json: true }), signal));
  t.equal(e.code, 'validation');
  t.equal(e.message, 'gcp provider "gcp": the payload of secret "erlmcp-cookie" (version latest) is not a JSON object, but secrets.cookie.json is true: store a JSON object or drop json: true to read it as key "value"');
});

t.test('full resource paths and pinned versions work', async (t) => {
  const v = await provider.fetch(ref('cookie', { name: `projects/${fake.projectId}/secrets/erlmcp-cookie`, version: '1' }), signal);
  t.same(v.data, { value: CANARIES.plain });
  t.equal(v.version, '1');
  t.equal(provider.describe(ref('cookie', { name: 'erlmcp-cookie' })), `gcp secret projects/${fake.projectId}/secrets/erlmcp-cookie/versions/latest`);
});

t.test('a missing secret and a missing version are `missing`', async (t) => {
  const noSecret = await rejection(provider.fetch(ref('ghost', { name: 'no-such-secret' }), signal));
  t.equal(noSecret.code, 'missing');
  t.equal(noSecret.where, 'secrets.ghost');
  t.equal(noSecret.message, 'gcp provider "gcp": secret "no-such-secret" version latest was not found in project erlmcp-test (or the secret has no versions): check secrets.ghost.name and .version (`gcloud secrets versions list no-such-secret --project erlmcp-test`)');
  const noVersion = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db', version: '42' }), signal));
  t.equal(noVersion.code, 'missing');
  t.equal(noVersion.message, 'gcp provider "gcp": secret "erlmcp-db" version 42 was not found in project erlmcp-test (or the secret has no versions): check secrets.db.name and .version (`gcloud secrets versions list erlmcp-db --project erlmcp-test`)');
  fake.createSecret('empty');
  const noVersions = await rejection(provider.fetch(ref('empty', { name: 'empty' }), signal));
  t.equal(noVersions.code, 'missing');
});

t.test('a DISABLED latest version fails (as real GCP does) with the enable command', async (t) => {
  fake.createSecret('erlmcp-api');
  fake.addVersion('erlmcp-api', CANARIES.plain);
  const v2 = fake.addVersion('erlmcp-api', CANARIES.disabled);
  fake.setState('erlmcp-api', v2, 'DISABLED');
  const e = await rejection(provider.fetch(ref('api', { name: 'erlmcp-api' }), signal));
  t.equal(e.code, 'missing');
  t.equal(e.message, 'gcp provider "gcp": secret "erlmcp-api" version latest in project erlmcp-test is DISABLED: enable it with `gcloud secrets versions enable latest --secret erlmcp-api --project erlmcp-test` or add a new version');
  // changed() reads the state from metadata and names the resolved version
  fake.resetCounts();
  const c = await rejection(provider.changed!(ref('api', { name: 'erlmcp-api' }), { data: {}, version: '1' }, signal));
  t.equal(c.code, 'missing');
  t.equal(c.message, 'gcp provider "gcp": secret "erlmcp-api" version latest (2) in project erlmcp-test is DISABLED: enable it with `gcloud secrets versions enable 2 --secret erlmcp-api --project erlmcp-test` or add a new version');
  t.same(Object.fromEntries(fake.calls), { GetSecretVersion: 1 }, 'no access was billed to find out');
});

t.test('a DESTROYED version says its data is gone', async (t) => {
  fake.createSecret('erlmcp-old');
  const v1 = fake.addVersion('erlmcp-old', CANARIES.plain);
  fake.setState('erlmcp-old', v1, 'DESTROYED');
  const e = await rejection(provider.fetch(ref('old', { name: 'erlmcp-old', version: '1' }), signal));
  t.equal(e.code, 'missing');
  t.equal(e.message, 'gcp provider "gcp": secret "erlmcp-old" version 1 in project erlmcp-test is DESTROYED: its data is gone for good; add a new version (`gcloud secrets versions add erlmcp-old --project erlmcp-test --data-file=FILE`) or pin another version in secrets.old.version');
});

t.test('PERMISSION_DENIED and UNAUTHENTICATED are `auth`', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('AccessSecretVersion', 'erlmcp-db', { code: grpc.status.PERMISSION_DENIED, details: `Permission 'secretmanager.versions.access' denied for resource 'projects/${fake.projectId}/secrets/erlmcp-db/versions/latest' (or it may not exist).` });
  const denied = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(denied.code, 'auth');
  t.equal(denied.retryable, false);
  t.equal(denied.message, 'gcp provider "gcp": permission denied: the identity needs secretmanager.versions.access (roles/secretmanager.secretAccessor) on secret "erlmcp-db" in project erlmcp-test');
  fake.fail('AccessSecretVersion', 'erlmcp-cookie', { code: grpc.status.UNAUTHENTICATED, details: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.' });
  const unauth = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal));
  t.equal(unauth.code, 'auth');
  t.equal(unauth.message, 'gcp provider "gcp": Secret Manager rejected the credentials (UNAUTHENTICATED): check Workload Identity (iam.gke.io/gcp-service-account on the pod\'s service account) or GOOGLE_APPLICATION_CREDENTIALS');
});

t.test('without versions.get, changed() falls back to a fetch and warns once', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('GetSecretVersion', 'erlmcp-cookie', { code: grpc.status.PERMISSION_DENIED, details: "Permission 'secretmanager.versions.get' denied" });
  const known = await provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal);
  t.equal(await provider.changed!(ref('cookie', { name: 'erlmcp-cookie' }), known, signal), true);
  t.equal(await provider.changed!(ref('cookie', { name: 'erlmcp-cookie' }), known, signal), true);
  t.equal(log.text().split('no secretmanager.versions.get permission').length - 1, 1, 'warned once');
});

t.test('RESOURCE_EXHAUSTED, UNAVAILABLE and DEADLINE_EXCEEDED are retryable `unavailable`, tried once', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('AccessSecretVersion', 'erlmcp-db', { code: grpc.status.RESOURCE_EXHAUSTED, details: "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute'" });
  fake.resetCounts();
  const throttled = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(throttled.code, 'unavailable');
  t.equal(throttled.retryable, true);
  t.equal(throttled.message, 'gcp provider "gcp": Secret Manager answered RESOURCE_EXHAUSTED for secret "erlmcp-db" in project erlmcp-test; will retry');
  t.equal(throttled.throttled, true, 'RESOURCE_EXHAUSTED: we ask too often');
  t.equal(throttled.retryAfterMs, undefined, 'no RetryInfo, no wait');
  t.equal(fake.count('AccessSecretVersion'), 1, 'google-gax did not retry behind our back');
  fake.fail('AccessSecretVersion', 'erlmcp-cookie', { code: grpc.status.UNAVAILABLE, details: 'The service is currently unavailable.' });
  const down = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal));
  t.equal(down.code, 'unavailable');
  t.equal(down.message, `gcp provider "gcp": Secret Manager at ${fake.endpoint} answered UNAVAILABLE for secret "erlmcp-cookie" in project erlmcp-test; will retry`);
  t.equal(down.throttled, false, 'UNAVAILABLE is not a refusal to be asked');
  fake.fail('AccessSecretVersion', 'erlmcp-keystore', { code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
  const slow = await rejection(provider.fetch(ref('keystore', { name: 'erlmcp-keystore', encoding: 'base64' }), signal));
  t.equal(slow.code, 'unavailable');
  t.equal(slow.retryable, true);
});

const QUOTA_TEXT = "Quota exceeded for quota metric 'Access requests' and limit 'Access requests per minute' of service 'secretmanager.googleapis.com' for consumer 'project_number:804519340372'.";
const QUOTA_INFO = {
  reason: 'RATE_LIMIT_EXCEEDED',
  domain: 'googleapis.com',
  metadata: { service: 'secretmanager.googleapis.com', quota_metric: 'secretmanager.googleapis.com/access_requests', quota_limit: 'AccessRequestsPerMinutePerProject', consumer: 'projects/804519340372' },
};

t.test('RESOURCE_EXHAUSTED with RetryInfo in the status details: throttled, not before its retry delay', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.fail('AccessSecretVersion', 'erlmcp-db', { code: grpc.status.RESOURCE_EXHAUSTED, details: QUOTA_TEXT, errorInfo: QUOTA_INFO, retryDelay: { seconds: 17, nanos: 500_000_000 } });
  fake.resetCounts();
  const e = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, true);
  t.equal(e.throttled, true);
  t.equal(e.retryAfterMs, 17_500, 'seconds and nanos of the Duration');
  t.equal(e.message, 'gcp provider "gcp": Secret Manager answered RESOURCE_EXHAUSTED for secret "erlmcp-db" in project erlmcp-test; will retry, not before its retry delay of 18 s');
  t.equal(fake.count('AccessSecretVersion'), 1, 'google-gax did not wait and retry on its own');

  fake.clearFailures();
  fake.fail('AccessSecretVersion', 'erlmcp-db', { code: grpc.status.RESOURCE_EXHAUSTED, details: QUOTA_TEXT, errorInfo: QUOTA_INFO });
  const noDelay = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(noDelay.throttled, true);
  t.equal(noDelay.retryAfterMs, undefined, 'ErrorInfo alone names no wait');
  t.equal(noDelay.message, 'gcp provider "gcp": Secret Manager answered RESOURCE_EXHAUSTED for secret "erlmcp-db" in project erlmcp-test; will retry');

  fake.clearFailures();
  fake.fail('GetSecretVersion', 'erlmcp-cookie', { code: grpc.status.UNAVAILABLE, details: 'The service is currently unavailable.', retryDelay: { seconds: 3 } });
  const down = await rejection(provider.changed!(ref('cookie', { name: 'erlmcp-cookie' }), { data: {}, version: '1' }, signal));
  t.equal(down.code, 'unavailable');
  t.equal(down.throttled, false, 'UNAVAILABLE with RetryInfo: a wait, but not our rate');
  t.equal(down.retryAfterMs, 3000);
  t.equal(down.message, `gcp provider "gcp": Secret Manager at ${fake.endpoint} answered UNAVAILABLE for secret "erlmcp-cookie" in project erlmcp-test; will retry, not before its retry delay of 3 s`);

  fake.clearFailures();
  t.equal((await provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal)).data.value, CANARIES.plain, 'the next call goes through');
  assertNoLeak(t, [e.message, noDelay.message, down.message, log.text()], ALL_CANARIES);
});

t.test('retryDelayMs reads only a well-formed RetryInfo', async (t) => {
  t.equal(retryDelayMs([{ retryDelay: { seconds: '2', nanos: 1 } }]), 2001, 'int64 as a string; a nanosecond rounds up to a ms');
  t.equal(retryDelayMs([{ reason: 'RATE_LIMIT_EXCEEDED' }, { retryDelay: { nanos: 250_000_000 } }]), 250, 'found after other details; seconds default to 0');
  for (const bad of [undefined, 'x', [], [{}], [{ retryDelay: { seconds: -1 } }], [{ retryDelay: { seconds: 'soon' } }], [{ retryDelay: 5 }]]) {
    t.equal(retryDelayMs(bad), undefined, JSON.stringify(bad));
  }
});

t.test('an unreachable endpoint is retryable `unavailable`', async (t) => {
  const port = await freeLoopbackPort();
  const dead = await create('gcp', { type: 'gcp', project: 'erlmcp-test', endpoint: `127.0.0.1:${port}`, insecure: true }, ctx);
  t.teardown(() => dead.close());
  const e = await rejection(dead.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, true);
  t.equal(e.message, `gcp provider "gcp": Secret Manager at 127.0.0.1:${port} answered UNAVAILABLE for secret "erlmcp-db" in project erlmcp-test; will retry`);
});

t.test('no application default credentials is `auth` with the Workload Identity hint', async (t) => {
  const saved = { ...process.env };
  t.teardown(() => {
    for (const k of ['GOOGLE_APPLICATION_CREDENTIALS', 'METADATA_SERVER_DETECTION', 'CLOUDSDK_CONFIG']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  process.env.METADATA_SERVER_DETECTION = 'none'; // never probe the metadata server
  process.env.CLOUDSDK_CONFIG = '/nonexistent/erlmcp-gcloud';
  const port = await freeLoopbackPort();
  const anon = await create('gcp', { type: 'gcp', project: 'erlmcp-test', endpoint: `127.0.0.1:${port}` }, ctx);
  t.teardown(() => anon.close());
  const e = await rejection(anon.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(e.code, 'auth');
  t.equal(e.message, 'gcp provider "gcp": no Google credentials found: on GKE enable Workload Identity and annotate the pod\'s service account with iam.gke.io/gcp-service-account; elsewhere set GOOGLE_APPLICATION_CREDENTIALS to a credentials file');
  // credentials that appear later are picked up: the failed client was dropped
  const dir = mkdtempSync(join(tmpdir(), 'erlmcp-gcp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'sa.json'), JSON.stringify({
    type: 'service_account', project_id: 'erlmcp-test', private_key_id: '0', client_id: '1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: 'erlmcp@erlmcp-test.iam.gserviceaccount.com', token_uri: 'http://127.0.0.1:9/token',
  }));
  process.env.GOOGLE_APPLICATION_CREDENTIALS = join(dir, 'sa.json');
  const later = await rejection(anon.fetch(ref('db', { name: 'erlmcp-db' }), signal));
  t.equal(later.code, 'unavailable', 'past the credentials now: the (closed) endpoint is what fails');
});

t.test('a CRC32C mismatch is a retryable error, and no value is returned', async (t) => {
  t.teardown(() => fake.clearFailures());
  fake.corruptChecksum('erlmcp-cookie');
  const e = await rejection(provider.fetch(ref('cookie', { name: 'erlmcp-cookie' }), signal));
  t.equal(e.code, 'unavailable');
  t.equal(e.retryable, true);
  t.equal(e.message, 'gcp provider "gcp": secret "erlmcp-cookie" version 1 failed its CRC32C check (payload damaged in transit); will retry');
});

t.test('rotation: changed() sees `latest` move via GetSecretVersion, then fetch reads it', async (t) => {
  fake.createSecret('erlmcp-rotating');
  fake.addVersion('erlmcp-rotating', CANARIES.plain);
  const r = ref('rotating', { name: 'erlmcp-rotating' });
  const v1 = await provider.fetch(r, signal);
  fake.resetCounts();
  t.equal(await provider.changed!(r, v1, signal), false);
  t.same(Object.fromEntries(fake.calls), { GetSecretVersion: 1 }, 'unchanged: one metadata read, no access');
  const n = fake.addVersion('erlmcp-rotating', CANARIES.rotated);
  fake.resetCounts();
  t.equal(await provider.changed!(r, v1, signal), true);
  const v2 = await provider.fetch(r, signal);
  t.same(v2.data, { value: CANARIES.rotated });
  t.equal(v2.version, String(n));
  t.same(Object.fromEntries(fake.calls), { GetSecretVersion: 1, AccessSecretVersion: 1 }, 'changed: one metadata read, one access');
});

t.test('an alias is followed when it moves; a pinned number is never re-checked', async (t) => {
  fake.createSecret('erlmcp-aliased');
  fake.addVersion('erlmcp-aliased', CANARIES.plain);
  const v2n = fake.addVersion('erlmcp-aliased', CANARIES.rotated);
  fake.setAlias('erlmcp-aliased', 'prod', 1);
  const r = ref('aliased', { name: 'erlmcp-aliased', version: 'prod' });
  const v1 = await provider.fetch(r, signal);
  t.same(v1.data, { value: CANARIES.plain });
  t.equal(v1.version, '1');
  t.equal(await provider.changed!(r, v1, signal), false);
  fake.setAlias('erlmcp-aliased', 'prod', v2n);
  t.equal(await provider.changed!(r, v1, signal), true);
  t.same((await provider.fetch(r, signal)).data, { value: CANARIES.rotated });
  fake.resetCounts();
  t.equal(await provider.changed!(ref('aliased', { name: 'erlmcp-aliased', version: '1' }), v1, signal), false);
  t.equal(fake.calls.size, 0);
});

t.test('an aborted request is `timeout`', async (t) => {
  const ac = new AbortController();
  ac.abort();
  const e = await rejection(provider.fetch(ref('db', { name: 'erlmcp-db' }), ac.signal));
  t.equal(e.code, 'timeout');
});

t.test('bad provider config and secret specs are `config` errors', async (t) => {
  const bad = await rejection(create('gcp', { type: 'gcp', project: 'X', insecure: true }, ctx));
  t.equal(bad.code, 'config');
  t.same(bad.problems, ['providers.gcp.project: a GCP project id like "my-project" or a project number', 'providers.gcp.insecure: insecure: true needs an endpoint (it is only for a local emulator)']);
  const spec = await rejection(provider.fetch(ref('db', { name: 'a/b', version: 'v 1' }), signal));
  t.equal(spec.code, 'config');
  t.same(spec.problems, ['secrets.db.name: a secret id like "erlmcp-db" or "projects/P/secrets/S"', 'secrets.db.version: a version number, an alias, or "latest"']);
});

t.test('the metadata server was never asked (insecure mode needs no credentials)', async (t) => {
  t.same(metadataProbes, []);
});

t.test('no canary value in any error message or log line', async (t) => {
  t.ok(log.text().includes('gcp secret fetched'));
  t.ok(errorTexts.length > 10);
  assertNoLeak(t, [log.text(), ...errorTexts], ALL_CANARIES);
});
