// Reads and parses every template, and checks that each reference names a
// declared secret and, where the secret declares its keys, a declared key.
// Runs before any backend call: `check` is exactly this plus config loading.

import { readFile } from 'node:fs/promises';
import { AgentError } from '../errors.ts';
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
  const prepared: PreparedTemplate[] = [];
  for (const t of config.templates) {
    let text: string;
    if (t.contents !== undefined) text = t.contents;
    else {
      try {
        text = await readFile(t.sourcePath!, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push(`${t.label}: cannot read ${t.sourcePath}: ${code === 'ENOENT' ? 'no such file' : code}`);
        continue;
      }
    }
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
      const label = `exec.env.${name}`;
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
    const secret = config.secrets[ref.secret];
    if (!secret) {
      out.push(`${t.label}: ${showReference({ ...ref, raw: false })} at line ${ref.line}: no secret "${ref.secret}" is declared (declared: ${declared.join(', ') || 'none'})`);
    } else if (ref.key !== undefined && secret.requireDeclared && !Object.hasOwn(secret.require, ref.key)) {
      out.push(`${t.label}: {{${ref.secret}.${ref.key}}} at line ${ref.line}: secret "${ref.secret}" declares no key "${ref.key}" (declared: ${Object.keys(secret.require).join(', ')})`);
    }
  }
  return out;
}
