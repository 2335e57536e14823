// Gives leases back to their providers: on shutdown with
// shutdown.revokeLeases, and always for leases nobody will use (init fetched
// them and then failed, or `plan` fetched them only to show what init would
// write). An unused lease is a live credential in the backend (a database
// role, say) until its TTL; an init container that fails and restarts would
// otherwise leave one per attempt.
//
// All at once, for at most `budgetMs`: a stop or a failure must not wait on
// a slow backend. A failure is logged, never thrown: the lease then ends by
// its TTL, and the run's own outcome is what the operator must see.

import type { AgentConfig } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider, SecretValue } from '../providers/provider.ts';

export interface RevokeDeps {
  /** which provider each secret comes from */
  config: { secrets: Readonly<Record<string, Pick<AgentConfig['secrets'][string], 'provider'> | undefined>> };
  providers: Map<string, Provider>;
  logger: Logger;
}

/** how long revoking may hold up a stop or a failed run */
export const REVOKE_BUDGET_MS = 10_000;

/** `when` finishes the log lines: "lease revoked <when>" ("on shutdown",
 * "unused: init failed", ...) */
export async function revokeLeases(values: Iterable<[string, SecretValue]>, deps: RevokeDeps, when: string, budgetMs = REVOKE_BUDGET_MS): Promise<void> {
  const { config, providers, logger } = deps;
  const pending: Array<Promise<void>> = [];
  for (const [name, value] of values) {
    const secret = config.secrets[name];
    const provider = secret && providers.get(secret.provider);
    if (!value.lease || !provider?.revoke) continue;
    pending.push(
      provider.revoke(value).then(
        () => logger.info({ audit: true, secret: name, provider: provider.name }, `lease revoked ${when}`),
        (e: unknown) => logger.warn({ secret: name, provider: provider.name, err: asAgentError(e, `revoking ${name}`).message }, `lease revoke ${when} failed; it expires by its TTL`),
      ),
    );
  }
  if (pending.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), budgetMs)));
  const done = await Promise.race([Promise.all(pending).then(() => 'done' as const), outOfTime]);
  clearTimeout(timer);
  if (done === 'late') logger.warn({ leases: pending.length, budgetMs }, `revoking leases ${when} took longer than ${budgetMs} ms; those not yet revoked expire by their TTL`);
}
