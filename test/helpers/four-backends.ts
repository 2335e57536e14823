// All four remote backends on loopback at once, for runs of the real CLI (or
// the bundle) that configure every provider type: the Vault fake, moto behind
// the counting AWS proxy, the Azure Key Vault fake (HTTPS, test CA) with the
// managed-identity endpoint fake, and the GCP Secret Manager gRPC fake.
// Used by test/cli/bundle-providers.test.ts and bench/.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { startAwsErrorProxy, type AwsErrorProxy } from '../fakes/aws-error-proxy.ts';
import { startAzureFake, type AzureFake } from '../fakes/azure-keyvault.ts';
import { startManagedIdentityFake, type ManagedIdentityFake } from '../fakes/azure-managed-identity.ts';
import { startGcpFake, type GcpFake } from '../fakes/gcp-secret-manager.ts';
import { makeCertificate } from './openssl-certs.ts';
import type { RunningEmulator } from './emulators.ts';

export type BackendType = 'vault' | 'aws' | 'azure' | 'gcp';
export const BACKEND_TYPES: readonly BackendType[] = ['vault', 'aws', 'azure', 'gcp'];

const AWS_REGION = 'us-east-1';

export interface FourBackends {
  vault: VaultFake;
  /** counts Secrets Manager calls in front of moto */
  aws: AwsErrorProxy;
  azure: AzureFake;
  azureIdentity: ManagedIdentityFake;
  gcp: GcpFake;
  /** holds the Vault token file and the Azure fake's CA; configs can name files here */
  dir: string;
  /** the environment the agent needs: AWS keys, the managed identity endpoint, no cloud metadata probes */
  env: NodeJS.ProcessEnv;
  /** a provider's block in `providers:` (as create() takes it too) */
  providerConfig(type: BackendType): Record<string, unknown>;
  /** the `providers:` block (YAML lines, indented) for these types, each provider named after its type */
  providersYaml(types: readonly BackendType[]): string;
  /** stores a JSON object secret in `type`'s backend; returns the secret's provider-specific fields (its SecretRef spec) */
  put(type: BackendType, name: string, data: Record<string, string>): Promise<Record<string, unknown>>;
  /** replaces the value of a secret stored with put() */
  update(type: BackendType, name: string, data: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startFourBackends(moto: RunningEmulator): Promise<FourBackends> {
  const dir = mkdtempSync(path.join(tmpdir(), 'four-backends-'));
  const vault = await startVaultFake();
  writeFileSync(path.join(dir, 'vault-token'), vault.rootToken);
  const aws = await startAwsErrorProxy(moto.url);
  const awsAdmin = new SecretsManagerClient({ region: AWS_REGION, endpoint: moto.url, credentials: { accessKeyId: 'AKIAADMIN', secretAccessKey: 'admin' } });
  const ca = makeCertificate({ days: 2, cn: 'erlmcp-bench-ca' });
  const serverCert = makeCertificate({ days: 2, cn: 'localhost', issuer: { certPem: ca.certPem, keyPem: ca.keyPem } });
  writeFileSync(path.join(dir, 'azure-ca.pem'), ca.certPem);
  const azure = await startAzureFake(serverCert);
  const azureIdentity = await startManagedIdentityFake('four-backends-azure-token');
  const gcp = await startGcpFake();

  const env: NodeJS.ProcessEnv = {
    AWS_ACCESS_KEY_ID: 'AKIAERLMCPBENCH00001',
    AWS_SECRET_ACCESS_KEY: 'erlmcp-bench-not-a-real-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    IDENTITY_ENDPOINT: azureIdentity.endpoint,
    IDENTITY_HEADER: azureIdentity.identityHeader,
    // nothing listens on the discard port: a metadata probe fails at once instead of reaching 169.254.169.254
    GCE_METADATA_HOST: '127.0.0.1:9',
  };

  const providerConfigs: Record<BackendType, Record<string, unknown>> = {
    vault: { type: 'vault', address: vault.url, auth: { method: 'token', tokenFile: path.join(dir, 'vault-token') } },
    aws: { type: 'aws', region: AWS_REGION, endpoint: aws.url },
    azure: { type: 'azure', vaultUrl: azure.vaultUrl, caFile: path.join(dir, 'azure-ca.pem'), disableChallengeResourceVerification: true, credential: { type: 'managed' } },
    gcp: { type: 'gcp', project: gcp.projectId, endpoint: gcp.endpoint, insecure: true },
  };

  async function store(type: BackendType, name: string, data: Record<string, string>, create: boolean): Promise<Record<string, unknown>> {
    const json = JSON.stringify(data);
    switch (type) {
      case 'vault':
        vault.putKv(`secret/${name}`, data);
        return { path: `secret/data/${name}` };
      case 'aws':
        if (create) await awsAdmin.send(new CreateSecretCommand({ Name: name, SecretString: json }));
        else await awsAdmin.send(new PutSecretValueCommand({ SecretId: name, SecretString: json }));
        return { id: name };
      case 'azure':
        azure.setSecret(name, json, { contentType: 'application/json' });
        return { name };
      case 'gcp':
        if (create) gcp.createSecret(name);
        gcp.addVersion(name, json);
        return { name, json: true };
    }
  }

  return {
    vault,
    aws,
    azure,
    azureIdentity,
    gcp,
    dir,
    env,
    providerConfig: (type) => providerConfigs[type],
    // JSON is flow YAML
    providersYaml: (types) => types.map((t) => `  ${t}: ${JSON.stringify(providerConfigs[t])}`).join('\n'),
    put: (type, name, data) => store(type, name, data, true),
    update: async (type, name, data) => {
      await store(type, name, data, false);
    },
    async close() {
      awsAdmin.destroy();
      await Promise.allSettled([vault.close(), aws.close(), azure.close(), azureIdentity.close(), gcp.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
