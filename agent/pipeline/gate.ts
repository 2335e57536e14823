// What the init gate hands to the commands that go on after it (run, exec):
// the config, the prepared templates, the open providers and the first store.
// It lives here, not in cli/, so that sidecar/ and exec/ need not import the CLI.

import type { AgentConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider } from '../providers/provider.ts';
import type { InitResult } from './init.ts';
import type { PreparedTemplate } from './prepare-templates.ts';

export interface CliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: NodeJS.ProcessEnv;
}

export interface GateResult extends InitResult {
  config: AgentConfig;
  templates: PreparedTemplate[];
  providers: Map<string, Provider>;
  logger: Logger;
  io: CliIO;
  /** where providers' invalidations go once the sidecar loop exists */
  invalidations: InvalidationRelay;
}

/** Providers are opened before the refresh loop exists; this holds their
 * invalidate() calls until the loop attaches, then forwards them. */
export class InvalidationRelay {
  #target: ((reason: string, names?: string[]) => void) | undefined;
  #pending: Array<[string, string[] | undefined]> = [];
  readonly invalidate = (reason: string, names?: string[]): void => {
    if (this.#target) this.#target(reason, names);
    else this.#pending.push([reason, names]);
  };
  attach(target: (reason: string, names?: string[]) => void): void {
    this.#target = target;
    for (const [r, n] of this.#pending.splice(0)) target(r, n);
  }
}

