// Warnings that `check` prints: configurations that work but are likely wrong.

import type { AgentConfig } from '../config/load.ts';
import type { PreparedTemplate } from './prepare-templates.ts';
import { templateWarnings } from '../render/index.ts';
import { lintSignalReload } from '../reload/signal.ts';
import { erlangReloadWarnings } from '../reload/erlang-config-check.ts';

export function lintConfig(config: AgentConfig, templates: PreparedTemplate[]): string[] {
  const out: string[] = [];
  for (const t of templates) {
    if ((t.config.mode & 0o007) !== 0) out.push(`${t.config.label}: mode 0${t.config.mode.toString(8)} lets every user on the machine read ${t.config.destination}`);
  }
  for (const t of templates) out.push(...templateWarnings(t.parsed, t.escape));
  config.reload.forEach((r, i) => {
    if (r.type === 'signal') out.push(...lintSignalReload(r, `reload[${i}]`));
  });
  out.push(...erlangReloadWarnings(config.reload));
  const used = new Set(templates.flatMap((t) => [...t.secrets]));
  for (const name of Object.keys(config.secrets)) {
    if (!used.has(name) && !config.exec) out.push(`secrets.${name}: fetched and validated but used by no template`);
  }
  return out;
}
