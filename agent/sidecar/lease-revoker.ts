// Shutdown with shutdown.revokeLeases: every lease the store holds is given
// back to its provider (pipeline/revoke-leases.ts: all at once, bounded,
// failures logged).

import type { AgentConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { revokeLeases as revoke } from '../pipeline/revoke-leases.ts';
import type { Provider } from '../providers/provider.ts';
import type { SecretStore } from '../store/store.ts';

export interface LeaseRevokerDeps {
  config: AgentConfig;
  providers: Map<string, Provider>;
  store: SecretStore;
  logger: Logger;
}

export async function revokeLeases({ config, providers, store, logger }: LeaseRevokerDeps): Promise<void> {
  await revoke(store.values(), { config, providers, logger }, 'on shutdown');
}
