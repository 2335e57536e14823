// The shape of a parsed template, shared by parse, render and lint. Kept free
// of Mustache's token arrays so the rest of the agent never depends on them.

/** One `{{secret.key}}` in a template (or `{{secret}}`, the whole secret, inside `{{#json}}`). */
export interface TemplateReference {
  secret: string;
  /** undefined: the whole secret, which only `{{#json}}` can write */
  key: string | undefined;
  /** 1-based line of the tag's opening delimiter */
  line: number;
  /** `{{{secret.key}}}` or `{{& secret.key}}`: written without escaping */
  raw: boolean;
  /** inside `{{#default}}`: the key may be absent */
  optional?: true;
}

/** Sections that turn a value into another value before it is escaped. */
export const HELPERS = ['base64decode', 'base64encode', 'json', 'default'] as const;
export type Helper = (typeof HELPERS)[number];

/** Sections that write a value as a typed Erlang term (escape erlang only). */
export const ERL_TYPES = ['integer', 'atom', 'string', 'binary'] as const;
export type ErlType = (typeof ERL_TYPES)[number];

/** What a value section computes; the innermost part is always one reference. */
export type ValueExpr =
  | { kind: 'ref'; ref: TemplateReference }
  | { kind: 'default'; ref: TemplateReference; fallback: string }
  | { kind: 'helper'; helper: Exclude<Helper, 'default'>; inner: ValueExpr }
  | { kind: 'erl'; type: ErlType; inner: ValueExpr };

/** A value section in the text: `{{#erl.integer}}{{db.port}}{{/erl.integer}}`. */
export interface ValueSection {
  expr: ValueExpr;
  /** line of the opening tag */
  line: number;
  /** the section as messages show it: `{{#erl.integer}}{{db.port}}{{/erl.integer}}` */
  shown: string;
}

export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'reference'; reference: TemplateReference }
  | { kind: 'section'; section: ValueSection };

export interface ParsedTemplate {
  /** where the template came from, for messages: `templates[0] (templates/erlmcp.env.mustache)` */
  label: string;
  parts: readonly TemplatePart[];
  /** every reference, in template order (a secret.key used twice appears twice), sections' included */
  references: readonly TemplateReference[];
}

/** How a reference is shown in messages: always with the default delimiters. */
export function showReference(ref: Pick<TemplateReference, 'secret' | 'key' | 'raw'>): string {
  const name = ref.key === undefined ? ref.secret : `${ref.secret}.${ref.key}`;
  return ref.raw ? `{{{${name}}}}` : `{{${name}}}`;
}

/** `db.password`, or `db` for the whole secret */
export function referenceName(ref: Pick<TemplateReference, 'secret' | 'key'>): string {
  return ref.key === undefined ? ref.secret : `${ref.secret}.${ref.key}`;
}

/** The innermost reference of a value section. */
export function innermost(expr: ValueExpr): TemplateReference {
  return expr.kind === 'ref' || expr.kind === 'default' ? expr.ref : innermost(expr.inner);
}

/** Whether the section writes its value unescaped (its reference is raw). */
export function isRaw(expr: ValueExpr): boolean {
  return innermost(expr).raw;
}

/** The erl.* type of a value section, if it has one (it is always the outermost). */
export function erlTypeOf(expr: ValueExpr): ErlType | undefined {
  return expr.kind === 'erl' ? expr.type : undefined;
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
