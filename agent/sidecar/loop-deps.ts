// What the refresh loop and its parts are given. One definition, so that each
// part (secret-checks, output-repair, rendered-files, template-reload,
// lease-revoker) takes the slice it needs by name.

import type { AgentConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { PreparedTemplate } from '../pipeline/prepare-templates.ts';
import type { Provider } from '../providers/provider.ts';
import type { Notifier } from '../reload/notifier.ts';
import type { Clock } from '../scheduler/clock.ts';
import type { Health } from '../server/health.ts';
import type { AgentMetrics } from '../server/metrics.ts';
import type { SecretStore } from '../store/store.ts';
import type { WriteOptions, WriteOutcome } from '../writer/atomic-write.ts';

export type WriteFile = (destination: string, bytes: Buffer, opts: WriteOptions) => Promise<WriteOutcome>;

export interface RefreshLoopDeps {
  config: AgentConfig;
  templates: PreparedTemplate[];
  providers: Map<string, Provider>;
  /** filled by the init gate */
  store: SecretStore;
  notifiers: Notifier[];
  health: Health;
  metrics: AgentMetrics;
  logger: Logger;
  clock: Clock;
  rand?: () => number;
  /** 'files' (default): notifiers run when a rendered file's bytes changed.
   * 'secrets': they run after every accepted change, files or not (the exec
   * wrapper, whose child reads secrets from its environment, not from files) */
  notifyOn?: 'files' | 'secrets';
  /** default: the atomic writer */
  write?: WriteFile;
}
