// Warnings for `check`: templates that parse and render but are probably not
// what the author meant. Not errors, because each has a legitimate use.

import type { Escape } from '../config/schema.ts';
import { innermost, referenceName, showReference, type ParsedTemplate, type TemplateReference } from './template.ts';

export function templateWarnings(t: ParsedTemplate, escape: Escape): string[] {
  const warnings: string[] = [];
  let before = '';
  for (const part of t.parts) {
    if (part.kind === 'text') {
      before = part.text;
      continue;
    }
    const ref: TemplateReference = part.kind === 'reference' ? part.reference : innermost(part.section.expr);
    const shown = part.kind === 'reference' ? showReference(ref) : part.section.shown;
    const at = `${t.label}: ${shown} at line ${part.kind === 'reference' ? ref.line : part.section.line}`;
    // erl.* sections write their own quotes (erl.integer none), whatever the template's escape
    const expr = part.kind === 'section' ? part.section.expr : undefined;
    const ownQuotes: Escape = expr?.kind === 'erl' ? (expr.type === 'integer' ? 'none' : 'erlang') : escape;
    if (ref.raw && escape !== 'none') {
      warnings.push(
        `${at} is raw, so escape "${escape}" does not apply and a quote or newline in the value can break the file; use {{${referenceName(ref)}}} unless a rule guarantees the value is safe`,
      );
    } else if (!ref.raw && ownQuotes !== 'none' && addsOwnQuotes(before, ownQuotes)) {
      warnings.push(`${at} is inside quotes, but escape "${ownQuotes}" writes the quotes itself; remove the quotes around it`);
    }
    before = '';
  }
  return warnings;
}

function addsOwnQuotes(textBefore: string, escape: Escape): boolean {
  const last = textBefore.at(-1);
  if (last === '"' || last === "'" || (escape === 'dotenv' && last === '`')) return true;
  return escape === 'erlang' && textBefore.endsWith('<<');
}
