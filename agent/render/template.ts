// The shape of a parsed template, shared by parse, render and lint. Kept free
// of Mustache's token arrays so the rest of the agent never depends on them.

/** One `{{secret.key}}` in a template. */
export interface TemplateReference {
  secret: string;
  key: string;
  /** 1-based line of the tag's opening delimiter */
  line: number;
  /** `{{{secret.key}}}` or `{{& secret.key}}`: written without escaping */
  raw: boolean;
}

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'reference'; reference: TemplateReference };

export interface ParsedTemplate {
  /** where the template came from, for messages: `templates[0] (templates/erlmcp.env.mustache)` */
  label: string;
  parts: readonly TemplatePart[];
  /** every reference, in template order (a secret.key used twice appears twice) */
  references: readonly TemplateReference[];
}

/** How a reference is shown in messages: always with the default delimiters. */
export function showReference(ref: Pick<TemplateReference, 'secret' | 'key' | 'raw'>): string {
  return ref.raw ? `{{{${ref.secret}.${ref.key}}}}` : `{{${ref.secret}.${ref.key}}}`;
}

/** The secret names a template reads, sorted: what the store re-renders it for. */
export function secretsUsed(t: ParsedTemplate): string[] {
  return [...new Set(t.references.map((r) => r.secret))].sort();
}

/** `at line 3` or `at lines 3, 9`: one message per secret.key, however often it is used. */
export function showLines(lines: readonly number[]): string {
  const unique = [...new Set(lines)].sort((a, b) => a - b);
  return unique.length === 1 ? `at line ${unique[0]}` : `at lines ${unique.join(', ')}`;
}
