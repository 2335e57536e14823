// Instantiates the configured providers. A provider type's module (and its
// SDK) is imported only here, and only for types that are configured.

import { AgentError, asAgentError } from '../errors.ts';
import type { AgentConfig } from '../config/load.ts';
import { PROVIDER_TYPES } from './registry.ts';
import type { Provider, ProviderContext } from './provider.ts';

export async function openProviders(config: AgentConfig, ctx: ProviderContext, only?: Set<string>): Promise<Map<string, Provider>> {
  const opened = new Map<string, Provider>();
  try {
    for (const p of Object.values(config.providers)) {
      if (only && !only.has(p.name)) continue;
      const type = PROVIDER_TYPES[p.type];
      if (!type) throw new AgentError('config', `providers.${p.name}.type: unknown type "${p.type}"`);
      const mod = await type.load();
      try {
        opened.set(p.name, await mod.create(p.name, p.settings, ctx));
      } catch (e) {
        throw asAgentError(e, `providers.${p.name}: cannot start the ${p.type} provider`);
      }
    }
  } catch (e) {
    await closeProviders(opened);
    throw e;
  }
  return opened;
}

export async function closeProviders(providers: Map<string, Provider>): Promise<void> {
  await Promise.allSettled([...providers.values()].map((p) => p.close()));
}
