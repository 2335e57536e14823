// Renders templates in memory. Nothing is written until every template has
// rendered, so a failing init never leaves half of the files behind.

import { AgentError } from '../errors.ts';
import { renderTemplate } from '../render/index.ts';
import type { PreparedTemplate } from './prepare-templates.ts';

export interface RenderedFile {
  template: PreparedTemplate;
  bytes: Buffer;
}

export function renderAll(templates: Iterable<PreparedTemplate>, data: Record<string, Record<string, string>>): RenderedFile[] {
  const out: RenderedFile[] = [];
  const errors: AgentError[] = [];
  for (const t of templates) {
    try {
      out.push({ template: t, bytes: Buffer.from(renderTemplate(t.parsed, data, t.escape), 'utf8') });
    } catch (e) {
      if (e instanceof AgentError) errors.push(e);
      else throw e;
    }
  }
  if (errors.length) {
    const problems = errors.flatMap((e) => e.problems);
    // a value that its escape mode cannot represent is the value's fault (exit 3), not the template's
    const code = errors.some((e) => e.code === 'validation') ? 'validation' : 'template';
    throw new AgentError(code, problems.length === 1 ? problems[0]! : `${problems.length} problems rendering templates`, { problems });
  }
  return out;
}
