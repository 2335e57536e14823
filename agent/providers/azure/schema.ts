// Config-check-time shapes for the `azure` provider (Azure Key Vault secrets).
// Loaded by the registry at start-up: zod only, never the SDK.

import { z } from 'zod';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const guid = (what: string) => z.string().regex(GUID, `${what} is a GUID like 00000000-0000-0000-0000-000000000000`);
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

// One credential per type, each with only the fields it uses. Secrets the
// credential needs (a client secret, a certificate) are read from files, so
// none is ever written into agent.yaml.
const credentialSchema = z.discriminatedUnion('type', [
  /** DefaultAzureCredential: env, workload identity, managed identity, az CLI ... in that order */
  z.strictObject({ type: z.literal('default'), clientId: guid('clientId').optional(), tenantId: guid('tenantId').optional() }),
  /** AKS workload identity: AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE from the webhook, or these */
  z.strictObject({ type: z.literal('workload'), clientId: guid('clientId').optional(), tenantId: guid('tenantId').optional(), tokenFile: z.string().min(1).optional(), authorityHost: z.url().optional() }),
  /** managed identity: system-assigned, or user-assigned by clientId */
  z.strictObject({ type: z.literal('managed'), clientId: guid('clientId').optional() }),
  /** service principal with a client secret kept in a file */
  z.strictObject({ type: z.literal('clientSecret'), tenantId: guid('tenantId'), clientId: guid('clientId'), clientSecretFile: z.string().min(1), authorityHost: z.url().optional() }),
  /** service principal with a PEM certificate + key file */
  z.strictObject({ type: z.literal('clientCertificate'), tenantId: guid('tenantId'), clientId: guid('clientId'), certificateFile: z.string().min(1), authorityHost: z.url().optional() }),
]);

export const providerConfigSchema = z.strictObject({
  type: z.literal('azure'),
  /** https://NAME.vault.azure.net (or a sovereign cloud's vault domain) */
  vaultUrl: z.url({ protocol: /^https$/, error: 'an https URL like "https://erlmcp.vault.azure.net"' }),
  credential: credentialSchema.default({ type: 'default' }),
  /** skip the check that the auth challenge's resource matches the vault's domain (private endpoints under custom names, emulators) */
  disableChallengeResourceVerification: z.boolean().optional(),
  /** PEM CA bundle that replaces the public CAs for vault connections (relative to the config file) */
  caFile: z.string().min(1).optional(),
});

export const secretSpecSchema = z.strictObject({
  /** the Key Vault secret name */
  name: z.string().regex(SECRET_NAME, 'a Key Vault secret name: 1-127 letters, digits and "-"'),
  /** a version id (32 hex characters); the current version when absent */
  version: z.string().regex(/^[0-9a-fA-F]{32}$/, 'a Key Vault version id: 32 hexadecimal characters').optional(),
  /** explode a JSON object value into keys even without contentType application/json */
  json: z.boolean().optional(),
});

export type AzureProviderConfig = z.output<typeof providerConfigSchema>;
export type AzureCredentialConfig = AzureProviderConfig['credential'];
export type AzureSecretSpec = z.output<typeof secretSpecSchema>;
