// Warnings for `check`: templates that parse and render but are probably not
// what the author meant. Not errors, because each has a legitimate use.

import type { Escape } from '../config/schema.ts';
import { showReference, type ParsedTemplate } from './template.ts';

export function templateWarnings(t: ParsedTemplate, escape: Escape): string[] {
  const warnings: string[] = [];
  let before = '';
  for (const part of t.parts) {
    if (part.kind === 'text') {
      before = part.text;
      continue;
    }
    const ref = part.reference;
    const at = `${t.label}: ${showReference(ref)} at line ${ref.line}`;
    if (ref.raw && escape !== 'none') {
      warnings.push(
        `${at} is raw, so escape "${escape}" does not apply and a quote or newline in the value can break the file; use {{${ref.secret}.${ref.key}}} unless a rule guarantees the value is safe`,
      );
    } else if (!ref.raw && escape !== 'none' && addsOwnQuotes(before, escape)) {
      warnings.push(`${at} is inside quotes, but escape "${escape}" writes the quotes itself; remove the quotes around it`);
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
