// Shutdown with shutdown.revokeLeases: every lease the store holds is given
// back to its provider, one after the other. A failure is logged, never
// thrown: the lease then ends by its TTL, and the stop must go on.

import type { AgentConfig } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider } from '../providers/provider.ts';
import type { SecretStore } from '../store/store.ts';

export interface LeaseRevokerDeps {
  config: AgentConfig;
  providers: Map<string, Provider>;
  store: SecretStore;
  logger: Logger;
}

export async function revokeLeases({ config, providers, store, logger }: LeaseRevokerDeps): Promise<void> {
  for (const name of store.names()) {
    const value = store.get(name)!.value;
    const secret = config.secrets[name];
    const provider = secret && providers.get(secret.provider);
    if (!value.lease || !provider?.revoke) continue;
    try {
      await provider.revoke(value);
      logger.info({ audit: true, secret: name, provider: provider.name }, 'lease revoked on shutdown');
    } catch (e) {
      logger.warn({ secret: name, provider: provider.name, err: asAgentError(e, `revoking ${name}`).message }, 'lease revoke on shutdown failed; it expires by its TTL');
    }
  }
}
