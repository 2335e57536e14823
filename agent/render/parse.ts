// Template text -> ParsedTemplate. Mustache does the tokenizing (delimiters,
// comments, standalone-line whitespace); this module keeps only the subset the
// agent supports and turns every problem into one 'template' AgentError.
//
// Supported: {{secret.key}} (escaped by the template's escape mode),
// {{{secret.key}}} and {{& secret.key}} (raw), {{! comments }},
// {{=<% %>=}} delimiter changes, and value sections (sections.ts):
// {{#erl.integer}}{{db.port}}{{/erl.integer}}, {{#base64decode}}...,
// {{#default}}{{db.port}}|5432{{/default}}, {{#json}}{{db}}{{/json}}.
// Not supported: other sections, inverted sections, partials (and so
// lambdas): the data is flat strings, so they would only add ways for a
// missing key to render as nothing.

import Mustache from 'mustache';
import { AgentError } from '../errors.ts';
import { checkTemplateBytes, checkTemplateShape } from './limits.ts';
import { parseSection, type Token } from './sections.ts';
import type { ParsedTemplate, TemplatePart, TemplateReference, ValueExpr } from './template.ts';

const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/; // same rule as config secret names

const SUPPORTED =
  'supported: {{secret.key}}, raw {{{secret.key}}} or {{& secret.key}}, comments {{! ... }}, delimiter changes {{=<% %>=}} and the value sections of docs/templates.md';

// A private writer, with fixed default delimiters and no cache: the webhook
// parses templates from pod annotations, and Mustache's shared cache would
// keep every template text it ever saw.
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;
const DEFAULT_TAGS: [string, string] = ['{{', '}}'];

export function parseTemplate(text: string, label: string): ParsedTemplate {
  checkTemplateBytes(text, label);
  const lineAt = lineIndex(text);
  let tokens: Token[];
  try {
    tokens = writer.parse(text, DEFAULT_TAGS) as Token[];
  } catch (e) {
    throw new AgentError('template', `${label}: ${describeSyntaxError(e, text, lineAt)}`, { where: label });
  }
  checkTemplateShape(tokens, label, lineAt);

  const parts: TemplatePart[] = [];
  const references: TemplateReference[] = [];
  const problems: string[] = [];
  const at = (start: number, end: number) => `${label}: ${shorten(text.slice(start, end))} at line ${lineAt(start)}`;

  for (const token of tokens) {
    const [type, value, start, end] = token;
    switch (type) {
      case 'text':
        parts.push({ kind: 'text', text: value });
        break;
      case 'name':
      case '&': {
        const ref = toReference(value, lineAt(start), type === '&', false);
        if (typeof ref === 'string') problems.push(`${at(start, end)}: ${ref}`);
        else {
          parts.push({ kind: 'reference', reference: ref });
          references.push(ref);
        }
        break;
      }
      case '!':
      case '=':
        break;
      case '#': {
        const expr = parseSection(token, { lineAt, toReference }, true);
        if (typeof expr === 'string') problems.push(`${at(start, end)}: ${expr}`);
        else {
          parts.push({ kind: 'section', section: { expr, line: lineAt(start), shown: showSection(token, text) } });
          references.push(...referencesOf(expr));
        }
        break;
      }
      case '^':
        problems.push(`${at(start, end)}: inverted sections are not supported; ${SUPPORTED}`);
        break;
      case '>':
        problems.push(`${at(start, end)}: partials are not supported; ${SUPPORTED}`);
        break;
      default:
        problems.push(`${at(start, end)}: unknown tag type "${type}"; ${SUPPORTED}`);
    }
  }

  if (problems.length > 0) throw new AgentError('template', problems.join('\n'), { where: label, problems });
  return { label, parts: mergeText(parts), references };
}

function referencesOf(expr: ValueExpr): TemplateReference[] {
  return expr.kind === 'ref' || expr.kind === 'default' ? [expr.ref] : referencesOf(expr.inner);
}

/** The section as written up to its closing tag (Mustache records where that
 * starts), closed with the default delimiters whatever the template set. */
function showSection(token: Token, text: string): string {
  const closeStart = typeof token[5] === 'number' ? token[5] : token[3];
  return shorten(`${text.slice(token[2], closeStart)}{{/${token[1]}}}`);
}

/** `db.password` -> { secret: db, key: password }; the key is everything after the
 * first dot, so keys that contain dots (`tls.tls.crt`) still work. Inside
 * {{#json}} a bare secret name means the whole secret. */
function toReference(name: string, line: number, raw: boolean, wholeSecretAllowed: boolean): TemplateReference | string {
  const dot = name.indexOf('.');
  if (name === '') return 'an empty tag; use {{secret.key}}';
  if (name === '.') return '"." (the current context) is not supported; use {{secret.key}}';
  if (dot === -1) {
    if (wholeSecretAllowed && SECRET_NAME.test(name)) return { secret: name, key: undefined, line, raw };
    return `"${name}" names no key; use {{secret.key}}${SECRET_NAME.test(name) ? `, e.g. {{${name}.password}}` : ''}`;
  }
  const secret = name.slice(0, dot);
  const key = name.slice(dot + 1);
  if (!SECRET_NAME.test(secret)) return `"${secret}" is not a secret name (names start with a letter and use letters, digits, "_" and "-"); use {{secret.key}}`;
  if (key === '') return `no key after "${secret}."; use {{secret.key}}`;
  return { secret, key, line, raw };
}

/** Mustache's messages end in `at <offset>`; the operator wants a line. */
function describeSyntaxError(e: unknown, text: string, lineAt: (offset: number) => number): string {
  const message = e instanceof Error ? e.message : String(e);
  let m = /^Unclosed section "(.*)" at (\d+)$/s.exec(message);
  if (m) {
    const name = m[1] ?? '';
    const opened = lastSectionOpening(text, name, Number(m[2]));
    return `unclosed section "${shorten(name)}" at line ${lineAt(opened ?? Number(m[2]))} (no matching {{/${shorten(name)}}})`;
  }
  m = /^Unopened section "(.*)" at (\d+)$/s.exec(message);
  if (m) return `unopened section "${shorten(m[1] ?? '')}" at line ${lineAt(Number(m[2]))} (a {{/${shorten(m[1] ?? '')}}} without a {{#${shorten(m[1] ?? '')}}})`;
  m = /^Unclosed tag at (\d+)$/.exec(message);
  if (m) {
    const end = Number(m[1]);
    // Mustache reports where it gave up (usually the end); the tag opened at
    // the last "{{" before that, unless the delimiters were changed.
    const opened = text.lastIndexOf('{{', Math.max(0, end - 1));
    return `unclosed tag at line ${lineAt(opened === -1 ? end : opened)} (a tag opened but never closed)`;
  }
  m = /^Invalid tags: (.*)$/s.exec(message);
  if (m) return `invalid delimiter change "${shorten(m[1] ?? '')}": give two delimiters separated by a space, e.g. {{=<% %>=}}`;
  return `cannot parse the template: ${shorten(message)}`;
}

/** Where the section named `name` was last opened before `before` (with the default delimiters). */
function lastSectionOpening(text: string, name: string, before: number): number | undefined {
  let found: number | undefined;
  for (const open of ['{{#', '{{^']) {
    for (let i = text.indexOf(open); i !== -1 && i < before; i = text.indexOf(open, i + 1)) {
      const close = text.indexOf('}}', i);
      if (close !== -1 && text.slice(i + 3, close).trim() === name && (found === undefined || i > found)) found = i;
    }
  }
  return found;
}

function lineIndex(text: string): (offset: number) => number {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** Comments and delimiter changes between two text runs leave them adjacent. */
function mergeText(parts: TemplatePart[]): TemplatePart[] {
  const out: TemplatePart[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + p.text };
    else out.push(p);
  }
  return out;
}

function shorten(s: string): string {
  const oneLine = s.replace(/\s+/g, ' ');
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}
