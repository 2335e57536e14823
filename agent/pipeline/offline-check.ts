// Everything `init` refuses before it fetches, on a config document already in
// memory: the schema, each provider's and secret's schema, the cross-checks
// between secrets, reload notifiers and destinations (configFromDocument), and
// every template's syntax and references (prepareTemplateTexts). `check` and
// `init` reach the same two functions through loadConfig and
// prepareTemplates; the webhook runs this on the config it assembled from a
// pod's annotations, so a pod it admits passes its agent's own checks.

import { configFromDocument, type AgentConfig } from '../config/load.ts';
import { isAgentError } from '../errors.ts';
import { prepareTemplateTexts, type PreparedTemplate } from './prepare-templates.ts';

export interface DocumentCheckOptions {
  /** names the config in messages */
  origin: string;
  /** relative paths resolve against this directory (default "/") */
  baseDir?: string;
  /** a name for template `index` in messages, instead of `templates[i] (file)` */
  templateLabel?: (index: number) => string | undefined;
  /** a name for exec.env variable `name` in messages, instead of `exec.env.NAME` */
  envLabel?: (name: string) => string | undefined;
}

export type DocumentCheck = { ok: true; config: AgentConfig; templates: PreparedTemplate[]; problems: [] } | { ok: false; problems: string[] };

/** Templates given by `source` (a file where the agent runs) are checked only
 * for their destination here; their text is read by `check`/`init` themselves. */
export function checkConfigDocument(doc: unknown, opts: DocumentCheckOptions): DocumentCheck {
  const labels = new Set<string>();
  const label = <T>(fn: ((x: T) => string | undefined) | undefined, x: T, fallback: string): string => {
    const l = fn?.(x);
    if (l === undefined) return fallback;
    labels.add(l);
    return l;
  };
  // a problem named by a custom label stands alone; the rest keep the origin
  const shown = (line: string): string => {
    const rest = line.startsWith(`${opts.origin}: `) ? line.slice(opts.origin.length + 2) : line;
    return [...labels].some((l) => rest.startsWith(`${l}: `)) ? rest : line;
  };
  try {
    const config = configFromDocument(doc, opts.origin, opts.baseDir ?? '/', { templateLabel: (i, fallback) => label(opts.templateLabel, i, fallback) });
    const templates = prepareTemplateTexts(config, (t) => t.contents, [], (name) => label(opts.envLabel, name, `exec.env.${name}`));
    return { ok: true, config, templates, problems: [] };
  } catch (e) {
    if (!isAgentError(e) || (e.code !== 'config' && e.code !== 'template')) throw e;
    return { ok: false, problems: e.problems.map(shown) };
  }
}
