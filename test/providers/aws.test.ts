// The aws provider against moto (a real Secrets Manager emulator in server
// mode), reached through a counting proxy that can also answer with the
// exact errors AWS sends for denied and throttled calls.

import t from 'tap';
import { CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { create } from '../../agent/providers/aws/provider.ts';
import type { Provider, SecretRef } from '../../agent/providers/provider.ts';
import { AgentError } from '../../agent/errors.ts';
import { emulatorFor, freeLoopbackPort, startMoto } from '../helpers/emulators.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { ACCESS_DENIED, INTERNAL_ERROR, THROTTLED, THROTTLED_WITH_HINT, TOO_MANY_REQUESTS, startAwsErrorProxy } from '../fakes/aws-error-proxy.ts';
import { rejectionRecorder } from '../helpers/rejection.ts';

// moto accepts any key; the provider finds them through the SDK's default chain
process.env.AWS_ACCESS_KEY_ID = 'AKIAERLMCPTEST000001';
process.env.AWS_SECRET_ACCESS_KEY = 'erlmcp-test-not-a-real-key';
process.env.AWS_EC2_METADATA_DISABLED = 'true'; // never probe 169.254.169.254
delete process.env.AWS_PROFILE;

const REGION = 'us-east-1';
const CANARIES = {
  password: 'CANARY-aws-pw-7f3c9d1e',
  plain: 'CANARY-aws-plain-91be44aa',
  rotated: 'CANARY-aws-rotated-0c5d2b77',
  pending: 'CANARY-aws-pending-e8a1f3c2',
  binary: 'CANARY-aws-bin-4d6e8f00',
};
const ALL_CANARIES = Object.values(CANARIES);

const moto = await emulatorFor(t, startMoto);
if (moto) {
  const admin = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: 'AKIAADMIN', secretAccessKey: 'admin' } });
  t.teardown(() => admin.destroy());
  const proxy = await startAwsErrorProxy(moto.url);
  t.teardown(() => proxy.close());
  const log = memoryLogger();
  const errorTexts: string[] = [];
  const ctx = { logger: log.logger, baseDir: process.cwd(), now: () => Date.now() };
  const provider: Provider = await create('aws', { type: 'aws', region: REGION, endpoint: proxy.url }, ctx);
  t.teardown(() => provider.close());
  const signal = new AbortController().signal;
  const ref = (name: string, spec: Record<string, unknown>): SecretRef => ({ name, spec });

  const rejection = rejectionRecorder(log.logger, errorTexts);

  const db = await admin.send(new CreateSecretCommand({
    Name: 'erlmcp/db',
    SecretString: JSON.stringify({ username: 'erlmcp', password: CANARIES.password, port: 5432, tls: { verify: true }, empty: '' }),
  }));
  await admin.send(new CreateSecretCommand({ Name: 'erlmcp/cookie', SecretString: CANARIES.plain }));
  await admin.send(new CreateSecretCommand({ Name: 'erlmcp/list', SecretString: '["a","b"]' }));
  await admin.send(new CreateSecretCommand({ Name: 'erlmcp/blob', SecretBinary: new Uint8Array([0, 1, 2, 253, 254, 255, ...Buffer.from(CANARIES.binary)]) }));

  t.test('a JSON object SecretString becomes its key map, non-strings JSON-encoded', async (t) => {
    proxy.resetCounts();
    const v = await provider.fetch(ref('db', { id: 'erlmcp/db' }), signal);
    t.same(v.data, { username: 'erlmcp', password: CANARIES.password, port: '5432', tls: '{"verify":true}', empty: '' });
    t.equal(v.version, db.VersionId, 'version is the VersionId');
    t.equal(proxy.count('GetSecretValue'), 1, 'one GetSecretValue');
  });

  t.test('a plain or non-object SecretString is key `value`, exactly as stored', async (t) => {
    t.same((await provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal)).data, { value: CANARIES.plain });
    t.same((await provider.fetch(ref('list', { id: 'erlmcp/list' }), signal)).data, { value: '["a","b"]' });
  });

  t.test('SecretBinary is key `value`, base64-encoded', async (t) => {
    const v = await provider.fetch(ref('blob', { id: 'erlmcp/blob' }), signal);
    t.same(Buffer.from(v.data.value ?? '', 'base64'), Buffer.from([0, 1, 2, 253, 254, 255, ...Buffer.from(CANARIES.binary)]));
    t.equal(v.data.value, Buffer.from([0, 1, 2, 253, 254, 255, ...Buffer.from(CANARIES.binary)]).toString('base64'));
  });

  t.test('a missing secret is `missing`, naming id, stage and region', async (t) => {
    const e = await rejection(provider.fetch(ref('nope', { id: 'erlmcp/does-not-exist' }), signal));
    t.equal(e.code, 'missing');
    t.equal(e.retryable, false);
    t.equal(e.where, 'secrets.nope');
    t.equal(e.message, 'aws provider "aws": secret "erlmcp/does-not-exist" (stage AWSCURRENT) was not found in region us-east-1: check secrets.nope.id, the provider\'s region, and that a version carries that stage or id');
  });

  t.test('a missing version id or stage is `missing`', async (t) => {
    const byId = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db', versionId: '00000000-0000-4000-8000-000000000000' }), signal));
    t.equal(byId.code, 'missing');
    t.equal(byId.message, 'aws provider "aws": secret "erlmcp/db" (version 00000000-0000-4000-8000-000000000000) was not found in region us-east-1: check secrets.db.id, the provider\'s region, and that a version carries that stage or id');
    const byStage = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db', versionStage: 'NO_SUCH_STAGE' }), signal));
    t.equal(byStage.code, 'missing');
    t.match(byStage.message, /\(stage NO_SUCH_STAGE\) was not found/);
    // changed() finds no version with the stage in DescribeSecret and says so
    const viaDescribe = await rejection(provider.changed!(ref('db', { id: 'erlmcp/db', versionStage: 'NO_SUCH_STAGE' }), { data: {} }, signal));
    t.equal(viaDescribe.code, 'missing');
    t.equal(viaDescribe.message, 'aws provider "aws": secret "erlmcp/db" in region us-east-1 has no version with stage NO_SUCH_STAGE: check secrets.db.versionStage / versionId (aws secretsmanager list-secret-version-ids --secret-id erlmcp/db)');
  });

  t.test('a secret scheduled for deletion is `missing` with the restore command', async (t) => {
    await admin.send(new CreateSecretCommand({ Name: 'erlmcp/retired', SecretString: CANARIES.plain }));
    await admin.send(new DeleteSecretCommand({ SecretId: 'erlmcp/retired', RecoveryWindowInDays: 7 }));
    const e = await rejection(provider.fetch(ref('retired', { id: 'erlmcp/retired' }), signal));
    t.equal(e.code, 'missing');
    t.equal(e.message, 'aws provider "aws": secret "erlmcp/retired" in region us-east-1 is scheduled for deletion: restore it with `aws secretsmanager restore-secret --secret-id erlmcp/retired --region us-east-1`, or point secrets.retired.id at another secret');
    const viaDescribe = await rejection(provider.changed!(ref('retired', { id: 'erlmcp/retired' }), { data: {}, version: 'x' }, signal));
    t.equal(viaDescribe.code, 'missing');
    t.match(viaDescribe.message, /^aws provider "aws": secret "erlmcp\/retired" in region us-east-1 is scheduled for deletion \(deletion requested \d{4}-\d\d-\d\dT[\d:.]+Z\): restore it with `aws secretsmanager restore-secret --secret-id erlmcp\/retired --region us-east-1`/);
  });

  t.test('AccessDenied is `auth`, naming the action and the secret', async (t) => {
    proxy.fail('GetSecretValue', 'erlmcp/db', ACCESS_DENIED('GetSecretValue', 'erlmcp/db'));
    proxy.fail('DescribeSecret', 'erlmcp/db', ACCESS_DENIED('DescribeSecret', 'erlmcp/db'));
    t.teardown(() => proxy.clearFailures());
    const e = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db' }), signal));
    t.equal(e.code, 'auth');
    t.equal(e.retryable, false);
    t.equal(e.provider, 'aws');
    t.equal(e.message, 'aws provider "aws": access denied: the AWS identity may not call secretsmanager:GetSecretValue on secret "erlmcp/db" in region us-east-1; allow that action on the secret\'s ARN in the role\'s policy (and kms:Decrypt on its KMS key if it uses a customer managed key)');
    const d = await rejection(provider.changed!(ref('db', { id: 'erlmcp/db' }), { data: {}, version: 'x' }, signal));
    t.equal(d.code, 'auth');
    t.match(d.message, /may not call secretsmanager:DescribeSecret on secret "erlmcp\/db"/);
  });

  t.test('KMS DecryptionFailure and rejected credentials are `auth`', async (t) => {
    t.teardown(() => proxy.clearFailures());
    proxy.fail('GetSecretValue', 'erlmcp/db', { status: 400, type: 'DecryptionFailure', message: "Secrets Manager can't decrypt the protected secret text using the provided KMS key." });
    const kms = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db' }), signal));
    t.equal(kms.code, 'auth');
    t.equal(kms.message, 'aws provider "aws": Secrets Manager could not decrypt secret "erlmcp/db" with its KMS key: allow kms:Decrypt on that key for the agent\'s role');
    proxy.fail('GetSecretValue', 'erlmcp/cookie', { status: 400, type: 'ExpiredTokenException', message: 'The security token included in the request is expired' });
    const expired = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(expired.code, 'auth');
    t.equal(expired.message, 'aws provider "aws": AWS rejected the credentials (ExpiredTokenException) calling secretsmanager:GetSecretValue in region us-east-1: check the role (IRSA/Pod Identity) or the AWS_* variables, and the system clock');
  });

  t.test('throttling is `unavailable` and retryable, with no hidden SDK retries', async (t) => {
    proxy.fail('GetSecretValue', 'erlmcp/cookie', THROTTLED);
    t.teardown(() => proxy.clearFailures());
    proxy.resetCounts();
    const e = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(e.code, 'unavailable');
    t.equal(e.retryable, true);
    t.equal(e.message, 'aws provider "aws": Secrets Manager throttled secretsmanager:GetSecretValue for secret "erlmcp/cookie" (ThrottlingException); will retry with backoff');
    t.equal(e.throttled, true, 'throttled: the scheduler must not ask sooner than planned');
    t.equal(e.retryAfterMs, undefined, 'Secrets Manager names no wait');
    t.equal(proxy.count('GetSecretValue'), 1, 'exactly one attempt: our scheduler does the retrying');
  });

  t.test('a 429 is throttled and its Retry-After (seconds or HTTP date) becomes retryAfterMs', async (t) => {
    t.teardown(() => proxy.clearFailures());
    const base = 'aws provider "aws": Secrets Manager throttled secretsmanager:GetSecretValue for secret "erlmcp/cookie" (TooManyRequestsException); will retry with backoff';
    proxy.fail('GetSecretValue', 'erlmcp/cookie', TOO_MANY_REQUESTS('12'));
    proxy.resetCounts();
    const e = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(e.code, 'unavailable');
    t.equal(e.retryable, true);
    t.equal(e.throttled, true);
    t.equal(e.retryAfterMs, 12_000);
    t.equal(e.message, `${base}, not before its Retry-After of 12 s`);
    t.equal(proxy.count('GetSecretValue'), 1, 'the SDK did not wait and retry on its own');

    proxy.clearFailures();
    proxy.fail('GetSecretValue', 'erlmcp/cookie', TOO_MANY_REQUESTS(new Date(Date.now() + 20_000).toUTCString()));
    const dated = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(dated.throttled, true);
    t.ok(dated.retryAfterMs !== undefined && dated.retryAfterMs > 18_000 && dated.retryAfterMs <= 20_000, `an HTTP date 20 s ahead: ${dated.retryAfterMs} ms`);
    t.equal(dated.message, `${base}, not before its Retry-After of ${Math.ceil(dated.retryAfterMs! / 1000)} s`);

    proxy.clearFailures();
    proxy.fail('GetSecretValue', 'erlmcp/cookie', TOO_MANY_REQUESTS('later'));
    const unreadable = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(unreadable.throttled, true);
    t.equal(unreadable.retryAfterMs, undefined, 'an unreadable Retry-After is ignored');
    t.equal(unreadable.message, base);

    proxy.clearFailures();
    t.equal((await provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal)).data.value, CANARIES.plain, 'the next call goes through');
    assertNoLeak(t, [e.message, dated.message, unreadable.message, log.text()], [...ALL_CANARIES, process.env.AWS_SECRET_ACCESS_KEY!]);
  });

  t.test("x-amz-retry-after (milliseconds) becomes retryAfterMs, and wins over a Retry-After beside it", async (t) => {
    t.teardown(() => proxy.clearFailures());
    const base = 'aws provider "aws": Secrets Manager throttled secretsmanager:GetSecretValue for secret "erlmcp/cookie" (ThrottlingException); will retry with backoff';
    proxy.fail('GetSecretValue', 'erlmcp/cookie', THROTTLED_WITH_HINT('2500'));
    const e = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.same([e.code, e.retryable, e.throttled, e.retryAfterMs], ['unavailable', true, true, 2500]);
    t.equal(e.message, `${base}, not before its x-amz-retry-after of 3 s`);

    proxy.clearFailures();
    proxy.fail('GetSecretValue', 'erlmcp/cookie', THROTTLED_WITH_HINT('1200', '30'));
    const both = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(both.retryAfterMs, 1200, 'the finer hint wins');

    proxy.clearFailures();
    proxy.fail('GetSecretValue', 'erlmcp/cookie', THROTTLED_WITH_HINT('soon', '7'));
    const fallback = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(fallback.retryAfterMs, 7000, 'an unreadable x-amz-retry-after falls back to Retry-After');
    t.equal(fallback.message, `${base}, not before its Retry-After of 7 s`);

    proxy.clearFailures();
    proxy.fail('GetSecretValue', 'erlmcp/cookie', THROTTLED_WITH_HINT('-5'));
    const bad = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(bad.retryAfterMs, undefined, 'a negative hint is ignored');
    t.equal(bad.message, base);
    assertNoLeak(t, [e.message, both.message, fallback.message, bad.message, log.text()], [...ALL_CANARIES, process.env.AWS_SECRET_ACCESS_KEY!]);
  });

  t.test('a 5xx is `unavailable` and retryable', async (t) => {
    proxy.fail('GetSecretValue', 'erlmcp/cookie', INTERNAL_ERROR);
    t.teardown(() => proxy.clearFailures());
    const e = await rejection(provider.fetch(ref('cookie', { id: 'erlmcp/cookie' }), signal));
    t.equal(e.code, 'unavailable');
    t.equal(e.retryable, true);
    t.equal(e.message, 'aws provider "aws": Secrets Manager failed secretsmanager:GetSecretValue for secret "erlmcp/cookie" (InternalServiceError, HTTP 500); will retry');
    t.equal(e.throttled, false, 'a failure, not a refusal to be asked');
    t.equal(e.retryAfterMs, undefined);
  });

  t.test('an unreachable endpoint is `unavailable` and retryable', async (t) => {
    const port = await freeLoopbackPort();
    const dead = await create('aws', { type: 'aws', region: REGION, endpoint: `http://127.0.0.1:${port}` }, ctx);
    t.teardown(() => dead.close());
    const e = await rejection(dead.fetch(ref('db', { id: 'erlmcp/db' }), signal));
    t.equal(e.code, 'unavailable');
    t.equal(e.retryable, true);
    t.equal(e.message, `aws provider "aws": cannot reach Secrets Manager at http://127.0.0.1:${port} (ECONNREFUSED); will retry`);
  });

  t.test('no credentials anywhere is `auth` with the IRSA / AWS_* hint', async (t) => {
    const saved = { ...process.env };
    t.teardown(() => {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_CONFIG_FILE = '/nonexistent/erlmcp-aws-config';
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/erlmcp-aws-credentials';
    const anon = await create('aws', { type: 'aws', region: REGION, endpoint: proxy.url }, ctx);
    t.teardown(() => anon.close());
    proxy.resetCounts();
    const e = await rejection(anon.fetch(ref('db', { id: 'erlmcp/db' }), signal));
    t.equal(e.code, 'auth');
    t.equal(e.message, 'aws provider "aws": no AWS credentials found: on EKS annotate the pod\'s service account with eks.amazonaws.com/role-arn (IRSA) or use EKS Pod Identity; elsewhere set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE');
    t.equal(proxy.count('GetSecretValue'), 0, 'nothing was sent unsigned');
  });

  t.test('rotation: changed() sees AWSCURRENT move via DescribeSecret, then fetch reads the new value', async (t) => {
    const r = ref('rotating', { id: 'erlmcp/rotating' });
    await admin.send(new CreateSecretCommand({ Name: 'erlmcp/rotating', SecretString: JSON.stringify({ password: CANARIES.password }) }));
    const v1 = await provider.fetch(r, signal);

    proxy.resetCounts();
    t.equal(await provider.changed!(r, v1, signal), false, 'unchanged');
    t.same(Object.fromEntries(proxy.calls), { DescribeSecret: 1 }, 'an unchanged check costs one DescribeSecret and no GetSecretValue');

    // a pending version (rotation step 1) does not move AWSCURRENT
    const pending = await admin.send(new PutSecretValueCommand({ SecretId: 'erlmcp/rotating', SecretString: JSON.stringify({ password: CANARIES.pending }), VersionStages: ['AWSPENDING'] }));
    t.equal(await provider.changed!(r, v1, signal), false, 'AWSPENDING alone is no change');
    // ... until the rotation finishes by moving AWSCURRENT to it
    await admin.send(new UpdateSecretVersionStageCommand({ SecretId: 'erlmcp/rotating', VersionStage: 'AWSCURRENT', MoveToVersionId: pending.VersionId, RemoveFromVersionId: v1.version }));
    proxy.resetCounts();
    t.equal(await provider.changed!(r, v1, signal), true, 'AWSCURRENT moved');
    const v2 = await provider.fetch(r, signal);
    t.same(v2.data, { password: CANARIES.pending });
    t.equal(v2.version, pending.VersionId);
    t.same(Object.fromEntries(proxy.calls), { DescribeSecret: 1, GetSecretValue: 1 }, 'a changed secret costs one DescribeSecret and one GetSecretValue');

    // the previous version stays readable by stage
    const previous = await provider.fetch(ref('rotating', { id: 'erlmcp/rotating', versionStage: 'AWSPREVIOUS' }), signal);
    t.same(previous.data, { password: CANARIES.password });
  });

  // On its own secret: moto (5.2) keeps AWSCURRENT on a version that
  // UpdateSecretVersionStage moved it to when a later PutSecretValue adds
  // AWSCURRENT to the new one, so two versions carry it (real AWS never does).
  t.test('rotation by PutSecretValue: AWSCURRENT moves at once', async (t) => {
    const r = ref('rotating2', { id: 'erlmcp/rotating-put' });
    await admin.send(new CreateSecretCommand({ Name: 'erlmcp/rotating-put', SecretString: CANARIES.plain }));
    const v1 = await provider.fetch(r, signal);
    const put = await admin.send(new PutSecretValueCommand({ SecretId: 'erlmcp/rotating-put', SecretString: CANARIES.rotated }));
    proxy.resetCounts();
    t.equal(await provider.changed!(r, v1, signal), true);
    const v2 = await provider.fetch(r, signal);
    t.same(v2.data, { value: CANARIES.rotated });
    t.equal(v2.version, put.VersionId);
    t.equal(await provider.changed!(r, v2, signal), false);
    t.same(Object.fromEntries(proxy.calls), { DescribeSecret: 2, GetSecretValue: 1 });
  });

  t.test('a pinned versionId never changes and costs no call to check', async (t) => {
    const r = ref('db', { id: 'erlmcp/db', versionId: db.VersionId });
    const v = await provider.fetch(r, signal);
    t.equal(v.data.password, CANARIES.password);
    proxy.resetCounts();
    t.equal(await provider.changed!(r, v, signal), false);
    t.equal(proxy.calls.size, 0);
  });

  t.test('an aborted request is `timeout`', async (t) => {
    const ac = new AbortController();
    ac.abort();
    const e = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db' }), ac.signal));
    t.equal(e.code, 'timeout');
    t.equal(e.message, 'aws provider "aws": request for secret "erlmcp/db" was aborted (init timeout or shutdown)');
  });

  t.test('bad provider config and bad secret specs are `config` errors', async (t) => {
    const bad = await rejection(create('aws', { type: 'aws', region: 'mars', endpoint: 'ftp://x' }, ctx));
    t.equal(bad.code, 'config');
    t.same(bad.problems, ['providers.aws.region: an AWS region like "us-east-1"', 'providers.aws.endpoint: an http(s) URL like "https://secretsmanager.us-east-1.amazonaws.com"']);
    const both = await rejection(provider.fetch(ref('db', { id: 'erlmcp/db', versionStage: 'AWSCURRENT', versionId: db.VersionId }), signal));
    t.equal(both.code, 'config');
    t.same(both.problems, ['secrets.db: give versionStage or versionId, not both']);
    const noId = await rejection(provider.fetch(ref('db', {}), signal));
    t.equal(noId.code, 'config');
    t.match(noId.problems[0], /^secrets\.db\.id: /);
  });

  t.test('describe names the secret, never a value', async (t) => {
    t.equal(provider.describe(ref('db', { id: 'erlmcp/db' })), 'aws secret "erlmcp/db" (stage AWSCURRENT) in us-east-1');
  });

  t.test('no canary value in any error message or log line', async (t) => {
    t.ok(log.text().includes('aws secret fetched'), 'the provider did log');
    t.ok(errorTexts.length > 10, 'error messages were collected');
    assertNoLeak(t, [log.text(), ...errorTexts], ALL_CANARIES);
  });
}
