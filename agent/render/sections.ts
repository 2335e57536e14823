// Value sections: Mustache sections whose name is a helper (base64decode,
// base64encode, json, default) or an Erlang type (erl.integer, erl.atom,
// erl.string, erl.binary). Each holds exactly one value: one tag, or one
// nested value section, plus whitespace and comments. Anything else in the
// body is a template error here, at `check` time, not a surprise at render.

import { ERL_TYPES, HELPERS, referenceName, type ErlType, type Helper, type TemplateReference, type ValueExpr } from './template.ts';

export type Token = [type: string, value: string, start: number, end: number, ...rest: unknown[]];

/** how a tag name becomes a reference, or why it cannot (shared with top-level tags) */
export type ToReference = (name: string, line: number, raw: boolean, wholeSecretAllowed: boolean) => TemplateReference | string;

export const SECTION_NAMES = [...ERL_TYPES.map((t) => `erl.${t}`), ...HELPERS];

// Null-prototype maps: a section named "constructor" or "__proto__" finds nothing.
const ERL_BY_NAME: Readonly<Record<string, ErlType>> = Object.assign(Object.create(null) as Record<string, ErlType>, Object.fromEntries(ERL_TYPES.map((t) => [`erl.${t}`, t])));
const HELPER_BY_NAME: Readonly<Record<string, Helper>> = Object.assign(Object.create(null) as Record<string, Helper>, Object.fromEntries(HELPERS.map((h) => [h, h])));

export interface SectionContext {
  lineAt: (offset: number) => number;
  toReference: ToReference;
}

/** A '#' token -> its value expression, or the problem with it (without label and place). */
export function parseSection(token: Token, ctx: SectionContext, outermost: boolean): ValueExpr | string {
  const name = token[1];
  const erl = ERL_BY_NAME[name];
  const helper = HELPER_BY_NAME[name];
  if (erl === undefined && helper === undefined) {
    return `unknown section "${name.length > 40 ? `${name.slice(0, 37)}...` : name}"; the sections are ${SECTION_NAMES.join(', ')}, each around one {{secret.key}} (see docs/templates.md)`;
  }
  if (erl !== undefined && !outermost) return `{{#${name}}} must be the outermost section around a value; put helper sections inside it, not around it`;

  const body = significant((token[4] as Token[] | undefined) ?? []);
  if (helper === 'default') return parseDefault(body, ctx);

  const only = body.length === 1 ? body[0] : undefined;
  if (only === undefined || (only[0] !== 'name' && only[0] !== '&' && only[0] !== '#')) {
    return `{{#${name}}} must hold exactly one value, e.g. {{#${name}}}{{${helper === 'json' ? 'db' : 'db.password'}}}{{/${name}}}, with nothing else but whitespace`;
  }
  let inner: ValueExpr | string;
  if (only[0] === '#') {
    if (helper === 'json') return `{{#json}} must hold one tag, {{secret}} or {{secret.key}}, not another section`;
    inner = parseSection(only, ctx, false);
  } else {
    const ref = ctx.toReference(only[1], ctx.lineAt(only[2]), only[0] === '&', helper === 'json');
    inner = typeof ref === 'string' ? ref : { kind: 'ref', ref };
  }
  if (typeof inner === 'string') return inner;
  if (erl !== undefined) {
    if (inner.kind === 'ref' && inner.ref.raw) return `{{#${name}}} writes its value in its own quoted form; use {{${referenceName(inner.ref)}}} inside it, not a raw tag`;
    return { kind: 'erl', type: erl, inner };
  }
  return { kind: 'helper', helper: helper as Exclude<Helper, 'default'>, inner };
}

/** `{{#default}}{{db.port}}|5432{{/default}}`: one tag, then "|" and the fallback text. */
function parseDefault(body: Token[], ctx: SectionContext): ValueExpr | string {
  const usage = `{{#default}} must hold one tag, "|" and the text to write when the key is absent, e.g. {{#default}}{{db.port}}|5432{{/default}}`;
  const [tag, rest, ...more] = body;
  if (tag === undefined || (tag[0] !== 'name' && tag[0] !== '&') || rest === undefined || rest[0] !== 'text' || more.length > 0) return usage;
  const raw = rest[1];
  const bar = raw.indexOf('|');
  if (bar === -1 || raw.slice(0, bar).trim() !== '') return usage;
  const ref = ctx.toReference(tag[1], ctx.lineAt(tag[2]), tag[0] === '&', false);
  if (typeof ref === 'string') return ref;
  return { kind: 'default', ref: { ...ref, optional: true }, fallback: raw.slice(bar + 1) };
}

/** The body without comments, delimiter changes and whitespace-only text,
 * except the text that follows the tag in {{#default}} (which is kept whole). */
function significant(children: Token[]): Token[] {
  const out: Token[] = [];
  for (const c of children) {
    if (c[0] === '!' || c[0] === '=') continue;
    if (c[0] === 'text' && c[1].trim() === '') continue;
    out.push(c);
  }
  return out;
}
