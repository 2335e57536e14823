// ParsedTemplate + secret data -> file text. Strict: every reference must
// resolve, and every escaped value must fit its format; all failures are
// reported together, naming secret.key and line, never a value.

import type { Escape } from '../config/schema.ts';
import { AgentError } from '../errors.ts';
import { escapeValue, type Escaped } from './escape.ts';
import { erlangTerm } from './escapers/erlang-typed.ts';
import { evaluate, lookup } from './helpers.ts';
import { sectionEscapeProblems } from './section-escape.ts';
import { innermost, isRaw, referenceName, showLines, showReference, type ParsedTemplate, type TemplateReference, type ValueSection } from './template.ts';

export type SecretData = Readonly<Record<string, Readonly<Record<string, string>>>>;

const MAX_NAMES_SHOWN = 20;

export function renderTemplate(t: ParsedTemplate, data: SecretData, escape: Escape): string {
  const unresolved = groupByReference(t.references.filter((r) => !resolves(data, r)));
  if (unresolved.length > 0) {
    const problems = unresolved.map(([ref, lines]) => `${t.label}: ${showReference(ref)} ${showLines(lines)}: ${whyUnresolved(data, ref)}`);
    throw new AgentError('template', problems.join('\n'), { where: t.label, problems });
  }
  const misplaced = sectionEscapeProblems(t, escape);
  if (misplaced.length > 0) throw new AgentError('template', misplaced.join('\n'), { where: t.label, problems: misplaced });

  // keyed by secret.key and rawness: the same value fails the same way wherever it is used
  const failed = new Map<string, { ref: TemplateReference; reason: string }>();
  const sectionProblems: string[] = [];
  let out = '';
  for (const part of t.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    if (part.kind === 'section') {
      const written = renderSection(part.section, data, escape);
      if (written.ok) out += written.text;
      else sectionProblems.push(`${t.label}: ${part.section.shown} at line ${part.section.line}: the value of ${referenceName(innermost(part.section.expr))} ${written.reason}`);
      continue;
    }
    const ref = part.reference;
    // raw still goes through 'none', which refuses what cannot be UTF-8
    const escaped = escapeValue(lookup(data, ref) as string, ref.raw ? 'none' : escape);
    if (escaped.ok) out += escaped.text;
    else failed.set(`${ref.secret}\0${ref.key}\0${ref.raw}`, { ref, reason: escaped.reason });
  }
  if (failed.size > 0 || sectionProblems.length > 0) {
    const problems = [...failed.values()].map(({ ref, reason }) => {
      const lines = t.references.filter((r) => r.secret === ref.secret && r.key === ref.key && r.raw === ref.raw).map((r) => r.line);
      const how = ref.raw ? 'raw' : `with escape "${escape}"`;
      return `${t.label}: ${showReference(ref)} ${showLines(lines)}: the value of ${ref.secret}.${ref.key} cannot be written ${how}: ${reason}`;
    });
    problems.push(...sectionProblems);
    throw new AgentError('validation', problems.join('\n'), { where: t.label, problems });
  }
  return out;
}

/** A value section: its helpers, then its erl.* type or the template's escape. */
function renderSection(s: ValueSection, data: SecretData, escape: Escape): Escaped {
  const value = evaluate(s.expr, data);
  if (!value.ok) return value;
  let written: Escaped;
  if (s.expr.kind === 'erl') written = erlangTerm(value.value, s.expr.type);
  else written = escapeValue(value.value, isRaw(s.expr) ? 'none' : escape);
  if (written.ok) return written;
  const how = s.expr.kind === 'erl' ? `as erl.${s.expr.type}` : isRaw(s.expr) ? 'raw' : `with escape "${escape}"`;
  return { ok: false, reason: `cannot be written ${how}: ${written.reason}` };
}

function resolves(data: SecretData, ref: TemplateReference): boolean {
  const secretExists = Object.hasOwn(data, ref.secret);
  if (ref.key === undefined || ref.optional) return secretExists;
  return lookup(data, ref) !== undefined;
}

function whyUnresolved(data: SecretData, ref: TemplateReference): string {
  const secret = Object.hasOwn(data, ref.secret) ? data[ref.secret] : undefined;
  if (secret === undefined || ref.key === undefined) {
    const names = Object.keys(data);
    return `no secret "${ref.secret}" (${names.length === 0 ? 'no secrets are defined' : `secrets: ${listNames(names)}`})`;
  }
  if (Object.hasOwn(secret, ref.key)) {
    // the types say string; a provider that hands over a number or null is a bug, not a typo
    const v: unknown = secret[ref.key];
    const kind = v === null || v === undefined ? String(v) : `of type ${typeof v}`;
    return `secret "${ref.secret}" key "${ref.key}" is ${kind}, not text (a provider bug: please report it)`;
  }
  const keys = Object.keys(secret);
  return `secret "${ref.secret}" has no key "${ref.key}" (${keys.length === 0 ? 'it has no keys' : `keys: ${listNames(keys)}`})`;
}

/** Key names are not secret and are what the operator needs to fix a typo. */
function listNames(names: string[]): string {
  const sorted = [...names].sort();
  const shown = sorted.slice(0, MAX_NAMES_SHOWN).join(', ');
  return sorted.length > MAX_NAMES_SHOWN ? `${shown} and ${sorted.length - MAX_NAMES_SHOWN} more` : shown;
}

/** One entry per secret.key (and raw-ness), in first-use order, with every line it is used on. */
function groupByReference(refs: readonly TemplateReference[]): Array<[TemplateReference, number[]]> {
  const groups = new Map<string, [TemplateReference, number[]]>();
  for (const r of refs) {
    const id = `${r.secret}\0${r.key ?? ''}\0${r.key === undefined}`;
    const group = groups.get(id);
    if (group) group[1].push(r.line);
    else groups.set(id, [r, [r.line]]);
  }
  return [...groups.values()];
}
