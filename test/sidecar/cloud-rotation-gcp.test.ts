// GCP Secret Manager (the gRPC fake) under the real `run` loop: see
// test/helpers/cloud-sidecar.ts. Checks use GetSecretVersion (metadata), a
// value read is AccessSecretVersion (billed).

import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { startGcpFake } from '../fakes/gcp-secret-manager.ts';
import { cloudRotationScenario } from '../helpers/cloud-sidecar.ts';

t.test('gcp: rotation, quiet cycles and throttling under `run`', async (t) => {
  const gcp = await startGcpFake();
  t.teardown(() => gcp.close());
  await cloudRotationScenario(
    t,
    {
      type: 'gcp',
      providerConfig: { type: 'gcp', project: gcp.projectId, endpoint: gcp.endpoint, insecure: true },
      // nothing listens on the discard port: a metadata probe fails at once
      env: { GCE_METADATA_HOST: '127.0.0.1:9' },
      checkCall: 'GetSecretVersion',
      readCall: 'AccessSecretVersion',
      async create(name, data) {
        gcp.createSecret(name);
        gcp.addVersion(name, JSON.stringify(data));
        return { name, json: true };
      },
      async rotate(name, data) {
        gcp.addVersion(name, JSON.stringify(data));
      },
      calls: (call, name) => gcp.countFor(call, name),
      throttle(names) {
        const status = { code: grpc.status.RESOURCE_EXHAUSTED, details: 'Quota exceeded for quota metric \'Access requests\' and limit \'Access requests per minute per project\'' };
        for (const n of names) for (const method of ['GetSecretVersion', 'AccessSecretVersion']) gcp.fail(method, n, status);
      },
      recover: () => gcp.clearFailures(),
    },
    'canaryGcpRot',
  );
});
