// Config-check-time shapes for the `azure` provider (Azure Key Vault secrets).
// Loaded by the registry at start-up: zod only, never the SDK.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const guid = (what: string) => z.string().check(z.regex(GUID, `${what} is a GUID like 00000000-0000-0000-0000-000000000000`));
const optionalGuid = (what: string) => z.optional(guid(what));
const nonEmpty = () => z.string().check(z.minLength(1));
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

// One credential per type, each with only the fields it uses. Secrets the
// credential needs (a client secret, a certificate) are read from files, so
// none is ever written into agent.yaml.
const credentialSchema = z.discriminatedUnion('type', [
  /** DefaultAzureCredential: env, workload identity, managed identity, az CLI ... in that order */
  z.strictObject({ type: z.literal('default'), clientId: optionalGuid('clientId'), tenantId: optionalGuid('tenantId') }),
  /** AKS workload identity: AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE from the webhook, or these */
  z.strictObject({
    type: z.literal('workload'),
    clientId: optionalGuid('clientId'),
    tenantId: optionalGuid('tenantId'),
    tokenFile: z.optional(nonEmpty()),
    authorityHost: z.optional(z.url()),
  }),
  /** managed identity: system-assigned, or user-assigned by clientId */
  z.strictObject({ type: z.literal('managed'), clientId: optionalGuid('clientId') }),
  /** service principal with a client secret kept in a file */
  z.strictObject({ type: z.literal('clientSecret'), tenantId: guid('tenantId'), clientId: guid('clientId'), clientSecretFile: nonEmpty(), authorityHost: z.optional(z.url()) }),
  /** service principal with a PEM certificate + key file */
  z.strictObject({ type: z.literal('clientCertificate'), tenantId: guid('tenantId'), clientId: guid('clientId'), certificateFile: nonEmpty(), authorityHost: z.optional(z.url()) }),
]);

export const providerConfigSchema = z.strictObject({
  type: z.literal('azure'),
  /** https://NAME.vault.azure.net (or a sovereign cloud's vault domain) */
  vaultUrl: z.url({ protocol: /^https$/, error: 'an https URL like "https://erlmcp.vault.azure.net"' }),
  credential: z._default(credentialSchema, { type: 'default' }),
  /** skip the check that the auth challenge's resource matches the vault's domain (private endpoints under custom names, emulators) */
  disableChallengeResourceVerification: z.optional(z.boolean()),
  /** PEM CA bundle that replaces the public CAs for vault connections (relative to the config file) */
  caFile: z.optional(nonEmpty()),
});

export const secretSpecSchema = z.strictObject({
  /** the Key Vault secret name */
  name: z.string().check(z.regex(SECRET_NAME, 'a Key Vault secret name: 1-127 letters, digits and "-"')),
  /** a version id (32 hex characters); the current version when absent */
  version: z.optional(z.string().check(z.regex(/^[0-9a-fA-F]{32}$/, 'a Key Vault version id: 32 hexadecimal characters'))),
  /** explode a JSON object value into keys even without contentType application/json */
  json: z.optional(z.boolean()),
});

export type AzureProviderConfig = z.output<typeof providerConfigSchema>;
export type AzureCredentialConfig = AzureProviderConfig['credential'];
export type AzureSecretSpec = z.output<typeof secretSpecSchema>;
