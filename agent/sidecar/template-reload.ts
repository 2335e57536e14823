// A template source file edited on disk: re-read and re-check every template
// made from it, like at start. A good edit replaces those templates in the
// list in use and is rendered; a broken one is logged and the last good
// template (and its file) stays.

import type { AgentConfig } from '../config/load.ts';
import { asAgentError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { prepareTemplates, type PreparedTemplate } from '../pipeline/prepare-templates.ts';

export interface TemplateReloadDeps {
  config: AgentConfig;
  logger: Logger;
  /** the templates in use; good edits replace their entries in place */
  templates: PreparedTemplate[];
}

/** the re-prepared templates made from sourcePath, or undefined when there
 * are none or the edit is broken (logged) */
export async function reloadTemplateSource(sourcePath: string, d: TemplateReloadDeps): Promise<PreparedTemplate[] | undefined> {
  const indexes = d.templates.flatMap((t, i) => (t.config.sourcePath === sourcePath ? [i] : []));
  if (indexes.length === 0) return undefined;
  let fresh: PreparedTemplate[];
  try {
    fresh = await prepareTemplates({ ...d.config, templates: indexes.map((i) => d.templates[i]!.config) });
  } catch (e) {
    const err = asAgentError(e, sourcePath);
    d.logger.error({ file: sourcePath, err: err.message, problems: err.problems }, 'edited template is broken; its file keeps the last good output');
    return undefined;
  }
  indexes.forEach((at, k) => (d.templates[at] = fresh[k]!));
  d.logger.info({ file: sourcePath, templates: fresh.map((t) => t.config.label) }, 'template source changed; re-rendering');
  return fresh;
}
