// Provider types by name. Each entry is light (schemas only); the provider
// module itself, with its SDK, is imported only when a provider of that type
// is configured. Adding a backend = one folder + one line here.

import type * as z from 'zod/mini';
import type { ProviderModule } from './provider.ts';
import './shared-modules.ts';
import * as vault from './vault/schema.ts';
import * as file from './file/schema.ts';
import * as aws from './aws/schema.ts';
import * as azure from './azure/schema.ts';
import * as gcp from './gcp/schema.ts';

export interface ProviderType {
  /** the provider block in `providers:` (with `type`) */
  configSchema: z.ZodMiniType<Record<string, unknown>>;
  /** the provider-specific fields of a secret (everything but provider/require/ttl/refresh) */
  secretSchema: z.ZodMiniType<Record<string, unknown>>;
  load(): Promise<ProviderModule>;
}

export const PROVIDER_TYPES: Record<string, ProviderType> = {
  vault: { configSchema: vault.providerConfigSchema, secretSchema: vault.secretSpecSchema, load: () => import('./vault/provider.ts') },
  file: { configSchema: file.providerConfigSchema, secretSchema: file.secretSpecSchema, load: () => import('./file/provider.ts') },
  aws: { configSchema: aws.providerConfigSchema, secretSchema: aws.secretSpecSchema, load: () => import('./aws/provider.ts') },
  azure: { configSchema: azure.providerConfigSchema, secretSchema: azure.secretSpecSchema, load: () => import('./azure/provider.ts') },
  gcp: { configSchema: gcp.providerConfigSchema, secretSchema: gcp.secretSpecSchema, load: () => import('./gcp/provider.ts') },
};

export function knownProviderTypes(): string[] {
  return Object.keys(PROVIDER_TYPES);
}
