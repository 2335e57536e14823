// Builds the TokenCredential that `credential:` describes. The identity
// module is passed in (provider.ts imports the SDK), so this file loads no
// SDK itself and its choices can be read at a glance.

import type * as Identity from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import { AgentError } from '../../errors.ts';
import type { AzureCredentialConfig } from './schema.ts';
import { isReadRefusal, refusalDetail } from '../../files/bounded-read.ts';

export interface CredentialDeps {
  identity: typeof Identity;
  /** reads a file named in the config, already resolved against the config's directory */
  readText(path: string): string;
  resolvePath(path: string): string;
}

export function buildCredential(provider: string, cred: AzureCredentialConfig, deps: CredentialDeps): TokenCredential {
  const { identity } = deps;
  switch (cred.type) {
    case 'default':
      return new identity.DefaultAzureCredential({
        ...(cred.clientId ? { managedIdentityClientId: cred.clientId, workloadIdentityClientId: cred.clientId } : {}),
        ...(cred.tenantId ? { tenantId: cred.tenantId } : {}),
      });
    case 'workload':
      return new identity.WorkloadIdentityCredential({
        ...(cred.clientId ? { clientId: cred.clientId } : {}),
        ...(cred.tenantId ? { tenantId: cred.tenantId } : {}),
        ...(cred.tokenFile ? { tokenFilePath: deps.resolvePath(cred.tokenFile) } : {}),
        ...(cred.authorityHost ? { authorityHost: cred.authorityHost } : {}),
      });
    case 'managed':
      return cred.clientId ? new identity.ManagedIdentityCredential({ clientId: cred.clientId }) : new identity.ManagedIdentityCredential();
    case 'clientSecret': {
      const secret = readCredentialFile(provider, 'clientSecretFile', cred.clientSecretFile, deps).trim();
      return new identity.ClientSecretCredential(cred.tenantId, cred.clientId, secret, cred.authorityHost ? { authorityHost: cred.authorityHost } : {});
    }
    case 'clientCertificate':
      readCredentialFile(provider, 'certificateFile', cred.certificateFile, deps); // fail at start-up, not at the first token
      return new identity.ClientCertificateCredential(cred.tenantId, cred.clientId, { certificatePath: deps.resolvePath(cred.certificateFile) }, cred.authorityHost ? { authorityHost: cred.authorityHost } : {});
  }
}

function readCredentialFile(provider: string, field: string, file: string, deps: CredentialDeps): string {
  const path = deps.resolvePath(file);
  try {
    return deps.readText(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    const detail = isReadRefusal(e) ? refusalDetail(e) : ` (${typeof code === 'string' ? code : 'unreadable'})`;
    throw new AgentError('config', `azure provider "${provider}": cannot read credential.${field} ${path}${detail}`, { where: `providers.${provider}.credential.${field}`, cause: e });
  }
}
