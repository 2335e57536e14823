// `check` starts every provider once, without fetching, and closes it again:
// starting reads what each needs from the local disk (a file provider's
// directory, Vault's CA file, Azure's certificate), which `init` would
// otherwise be the first to find missing (exit 2, after `check` said ok).

import { AgentError, isAgentError } from '../errors.ts';
import type { AgentConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import { closeProviders, openProviders } from '../providers/open.ts';

/** every provider that cannot start, as one config error; nothing when all start */
export async function checkProvidersStart(config: AgentConfig, logger: Logger): Promise<void> {
  const problems: string[] = [];
  for (const name of Object.keys(config.providers)) {
    try {
      // one at a time, so one provider's failure does not hide the next one's
      await closeProviders(await openProviders(config, { logger, baseDir: config.baseDir, now: Date.now, invalidate: () => {} }, new Set([name])));
    } catch (e) {
      if (!isAgentError(e) || e.code !== 'config') throw e;
      problems.push(...e.problems.map((p) => `${config.origin}: ${p}`));
    }
  }
  if (problems.length) {
    throw new AgentError('config', problems.length === 1 ? problems[0]! : `${config.origin}: ${problems.length} providers cannot start`, { where: config.origin, problems });
  }
}
