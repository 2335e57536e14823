// An edited config that changes what a written secret asks for (its `write:`
// map, path or reissueFraction: a new common name, a new role) is applied at
// once for that secret: a certificate for the new request is issued, rendered
// and the reload runs, instead of the old certificate living on until a
// restart. Everything else in an edited config still waits for a restart
// (source-watch.ts says so): only the request of a secret that keeps its
// provider, and whose provider's settings are unchanged, is swapped in.
//
//   writeRequestChanges(current, next, issues) -> names whose request changed   (pure)
//   applyWriteRequestChanges(current, next, deps) -> names re-issued now

import type { AgentConfig, SecretConfig } from '../config/load.ts';
import type { Logger } from '../log/logger.ts';
import type { Provider } from '../providers/provider.ts';

/** JSON with object keys sorted, so that key order in the YAML is not a change */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** the written secrets of `current` whose request `next` changes, provider and its settings unchanged */
export function writeRequestChanges(current: AgentConfig, next: AgentConfig, issues: (s: SecretConfig) => boolean): string[] {
  const out: string[] = [];
  for (const [name, s] of Object.entries(current.secrets)) {
    const n = Object.hasOwn(next.secrets, name) ? next.secrets[name] : undefined;
    if (!n || n.provider !== s.provider || !issues(s) || !issues(n)) continue;
    const p = current.providers[s.provider];
    const np = Object.hasOwn(next.providers, s.provider) ? next.providers[s.provider] : undefined;
    if (!p || !np || canonical(p.settings) !== canonical(np.settings)) continue;
    if (canonical(s.spec) !== canonical(n.spec)) out.push(name);
  }
  return out;
}

export interface ApplyDeps {
  providers: Map<string, Provider>;
  logger: Logger;
  /** makes the secrets due now (RefreshLoop.invalidate) */
  reissue(reason: string, names: string[]): void;
}

/** swaps the new request into `current` (the running loop's config) and has it issued now */
export function applyWriteRequestChanges(current: AgentConfig, next: AgentConfig, deps: ApplyDeps): string[] {
  const issues = (s: SecretConfig): boolean => deps.providers.get(s.provider)?.issues?.({ name: s.name, spec: s.spec }) === true;
  const names = writeRequestChanges(current, next, issues);
  if (names.length === 0) return names;
  for (const name of names) current.secrets[name]!.spec = next.secrets[name]!.spec;
  deps.logger.info({ secrets: names }, 'the request of a secret issued on write changed in the config: issuing for the new request now');
  deps.reissue('write request changed in the config', names);
  return names;
}
