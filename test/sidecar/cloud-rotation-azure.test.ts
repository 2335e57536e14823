// Azure Key Vault (the HTTPS fake with a test CA, managed identity fake)
// under the real `run` loop: see test/helpers/cloud-sidecar.ts. Key Vault has
// no metadata-only read, so the check and the value read are one GET.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzureFake, THROTTLED_BODY } from '../fakes/azure-keyvault.ts';
import { startManagedIdentityFake } from '../fakes/azure-managed-identity.ts';
import { cloudRotationScenario } from '../helpers/cloud-sidecar.ts';
import { makeCertificate } from '../helpers/openssl-certs.ts';

t.test('azure: rotation, quiet cycles and throttling under `run`', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cloud-rotation-azure-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = makeCertificate({ days: 2, cn: 'erlmcp-cloud-rotation-ca' });
  const serverCert = makeCertificate({ days: 2, cn: 'localhost', issuer: { certPem: ca.certPem, keyPem: ca.keyPem } });
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);
  const vault = await startAzureFake(serverCert);
  t.teardown(() => vault.close());
  const identity = await startManagedIdentityFake('cloud-rotation-azure-token');
  t.teardown(() => identity.close());
  await cloudRotationScenario(
    t,
    {
      type: 'azure',
      providerConfig: { type: 'azure', vaultUrl: vault.vaultUrl, caFile: join(dir, 'ca.pem'), disableChallengeResourceVerification: true, credential: { type: 'managed' } },
      env: { IDENTITY_ENDPOINT: identity.endpoint, IDENTITY_HEADER: identity.identityHeader },
      checkCall: 'GET',
      readCall: 'GET',
      async create(name, data) {
        vault.setSecret(name, JSON.stringify(data), { contentType: 'application/json' });
        return { name };
      },
      async rotate(name, data) {
        vault.setSecret(name, JSON.stringify(data), { contentType: 'application/json' });
      },
      calls: (_call, name) => vault.gets.get(name) ?? 0,
      throttle(names) {
        for (const n of names) vault.fail(n, { status: 429, body: THROTTLED_BODY, headers: { 'retry-after': '1' } });
      },
      recover: () => vault.clearFailures(),
    },
    'canaryAzureRot',
  );
});
