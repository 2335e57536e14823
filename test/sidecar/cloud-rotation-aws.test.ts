// AWS Secrets Manager (moto behind the counting error proxy) under the real
// `run` loop: see test/helpers/cloud-sidecar.ts for the scenario. In CI a
// missing moto fails this file; elsewhere it is skipped with the install hint.

import t from 'tap';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startAwsErrorProxy, THROTTLED } from '../fakes/aws-error-proxy.ts';
import { cloudRotationScenario } from '../helpers/cloud-sidecar.ts';
import { emulatorFor, startMoto } from '../helpers/emulators.ts';

const REGION = 'us-east-1';

t.test('aws: rotation, quiet cycles and throttling under `run`', async (t) => {
  const moto = await emulatorFor(t, startMoto);
  if (!moto) return;
  const proxy = await startAwsErrorProxy(moto.url);
  t.teardown(() => proxy.close());
  const admin = new SecretsManagerClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: 'AKIAADMIN', secretAccessKey: 'admin' } });
  t.teardown(() => admin.destroy());
  await cloudRotationScenario(
    t,
    {
      type: 'aws',
      providerConfig: { type: 'aws', region: REGION, endpoint: proxy.url },
      env: { AWS_ACCESS_KEY_ID: 'AKIACLOUDROTATION001', AWS_SECRET_ACCESS_KEY: 'cloud-rotation-not-a-real-key', AWS_EC2_METADATA_DISABLED: 'true' },
      checkCall: 'DescribeSecret',
      readCall: 'GetSecretValue',
      async create(name, data) {
        await admin.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(data) }));
        return { id: name };
      },
      async rotate(name, data) {
        // PutSecretValue moves AWSCURRENT to the new version
        await admin.send(new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(data) }));
      },
      calls: (call, name) => proxy.countFor(call, name),
      throttle(names) {
        for (const n of names) for (const action of ['DescribeSecret', 'GetSecretValue']) proxy.fail(action, n, THROTTLED);
      },
      recover: () => proxy.clearFailures(),
    },
    'canaryAwsRot',
  );
});
