// Which escape modes a value section can be written in: erl.* sections write
// Erlang terms, so they need the template's escape to be erlang. Checked by
// `check` (prepare-templates) and again by render.

import type { Escape } from '../config/schema.ts';
import { erlTypeOf, type ParsedTemplate } from './template.ts';

export function sectionEscapeProblems(t: ParsedTemplate, escape: Escape): string[] {
  if (escape === 'erlang') return [];
  const out: string[] = [];
  for (const part of t.parts) {
    if (part.kind !== 'section') continue;
    const type = erlTypeOf(part.section.expr);
    if (type === undefined) continue;
    out.push(
      `${t.label}: ${part.section.shown} at line ${part.section.line}: erl.${type} writes an Erlang term, but this template's escape is "${escape}"; ` +
        'set escape: erlang for it (a .config, .erl or .term destination gets it by default), or use {{secret.key}}',
    );
  }
  return out;
}
