// Reads and parses every template, and checks that each reference names a
// declared secret and, where the secret declares its keys, a declared key.
// Runs before any backend call: `check` is exactly this plus config loading.

import { AgentError } from '../errors.ts';
import { formatBytes, isReadRefusal, readBounded, type ReadRefusal } from '../files/bounded-read.ts';
import { READ_LIMITS } from '../files/read-limits.ts';
import type { AgentConfig, TemplateConfig } from '../config/load.ts';
import type { Escape } from '../config/schema.ts';
import { parseTemplate, inferEscape, secretsUsed, sectionEscapeProblems, showReference, type ParsedTemplate } from '../render/index.ts';

export interface PreparedTemplate {
  config: TemplateConfig;
  parsed: ParsedTemplate;
  escape: Escape;
  /** secrets this template reads */
  secrets: Set<string>;
}

export async function prepareTemplates(config: AgentConfig): Promise<PreparedTemplate[]> {
  const problems: string[] = [];
  const read = new Map<number, string>();
  for (const t of config.templates) {
    if (t.contents !== undefined) continue;
    try {
      read.set(t.index, (await readBounded(t.sourcePath!, READ_LIMITS.templateSource)).toString('utf8'));
    } catch (e) {
      if (!isReadRefusal(e)) throw e;
      problems.push(`${t.label}: cannot read ${t.sourcePath}: ${sourceProblem(e)}`);
    }
  }
  return prepareTemplateTexts(config, (t) => t.contents ?? read.get(t.index), problems);
}

/** The pure half: parses each template whose text `textOf` gives (the others
 * are left out), and checks every reference, in templates and exec.env, against
 * the declared secrets and keys. Throws one AgentError listing `earlier`
 * problems and its own. */
export function prepareTemplateTexts(
  config: AgentConfig,
  textOf: (t: TemplateConfig) => string | undefined,
  earlier: string[] = [],
  envLabel: (name: string) => string = (name) => `exec.env.${name}`,
): PreparedTemplate[] {
  const problems = [...earlier];
  const prepared: PreparedTemplate[] = [];
  for (const t of config.templates) {
    const text = textOf(t);
    if (text === undefined) continue;
    let parsed: ParsedTemplate;
    try {
      parsed = parseTemplate(text, t.label);
    } catch (e) {
      if (e instanceof AgentError) problems.push(...e.problems);
      else throw e;
      continue;
    }
    const escape = t.escape ?? inferEscape(t.destination);
    problems.push(...undeclaredRefs(config, t, parsed), ...sectionEscapeProblems(parsed, escape));
    prepared.push({ config: t, parsed, escape, secrets: new Set(secretsUsed(parsed)) });
  }
  if (config.exec) {
    for (const [name, text] of Object.entries(config.exec.env)) {
      const label = envLabel(name);
      try {
        const parsed = parseTemplate(text, label);
        // exec.env values are rendered with escape none
        problems.push(...undeclaredRefs(config, { label }, parsed), ...sectionEscapeProblems(parsed, 'none'));
      } catch (e) {
        if (e instanceof AgentError) problems.push(...e.problems);
        else throw e;
      }
    }
  }
  if (problems.length) {
    const lines = problems.map((p) => `${config.origin}: ${p}`);
    throw new AgentError('template', lines.length === 1 ? lines[0]! : `${config.origin}: ${lines.length} template problems`, { problems: lines });
  }
  return prepared;
}

function undeclaredRefs(config: AgentConfig, t: { label: string }, parsed: ParsedTemplate): string[] {
  const out: string[] = [];
  const declared = Object.keys(config.secrets);
  for (const ref of parsed.references) {
    const secret = Object.hasOwn(config.secrets, ref.secret) ? config.secrets[ref.secret] : undefined;
    if (!secret) {
      out.push(`${t.label}: ${showReference({ ...ref, raw: false })} at line ${ref.line}: no secret "${ref.secret}" is declared (declared: ${declared.join(', ') || 'none'})`);
    } else if (ref.key !== undefined && secret.requireDeclared && !Object.hasOwn(secret.require, ref.key)) {
      out.push(`${t.label}: {{${ref.secret}.${ref.key}}} at line ${ref.line}: secret "${ref.secret}" declares no key "${ref.key}" (declared: ${Object.keys(secret.require).join(', ')})`);
    }
  }
  return out;
}

function sourceProblem(r: ReadRefusal): string {
  if (r.kind === 'errno') return r.errno === 'ENOENT' ? 'no such file' : r.errno!;
  if (r.kind === 'not-regular') return `it is ${r.what}, not a regular file; point source at the template file`;
  return `it is larger than ${formatBytes(READ_LIMITS.templateSource)}, far more than any template; is this the right file?`;
}
