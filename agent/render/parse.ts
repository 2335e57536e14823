// Template text -> ParsedTemplate. Mustache does the tokenizing (delimiters,
// comments, standalone-line whitespace); this module keeps only the subset the
// agent supports and turns every problem into one 'template' AgentError.
//
// Supported: {{secret.key}} (escaped by the template's escape mode),
// {{{secret.key}}} and {{& secret.key}} (raw), {{! comments }} and
// {{=<% %>=}} delimiter changes. Not supported: sections, inverted sections,
// partials (and so lambdas): the data is flat strings, so they would only add
// ways for a missing key to render as nothing.

import Mustache from 'mustache';
import { AgentError } from '../errors.ts';
import type { ParsedTemplate, TemplatePart, TemplateReference } from './template.ts';

const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/; // same rule as config secret names

const SUPPORTED = 'supported: {{secret.key}}, raw {{{secret.key}}} or {{& secret.key}}, comments {{! ... }} and delimiter changes {{=<% %>=}}';

type Token = [type: string, value: string, start: number, end: number, ...rest: unknown[]];

// A private writer, with fixed default delimiters and no cache: the webhook
// parses templates from pod annotations, and Mustache's shared cache would
// keep every template text it ever saw.
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;
const DEFAULT_TAGS: [string, string] = ['{{', '}}'];

export function parseTemplate(text: string, label: string): ParsedTemplate {
  const lineAt = lineIndex(text);
  let tokens: Token[];
  try {
    tokens = writer.parse(text, DEFAULT_TAGS) as Token[];
  } catch (e) {
    throw new AgentError('template', `${label}: ${describeSyntaxError(e, text, lineAt)}`, { where: label });
  }

  const parts: TemplatePart[] = [];
  const references: TemplateReference[] = [];
  const problems: string[] = [];

  const walk = (list: Token[]): void => {
    for (const token of list) {
      const [type, value, start, end] = token;
      const line = lineAt(start);
      switch (type) {
        case 'text':
          parts.push({ kind: 'text', text: value });
          break;
        case 'name':
        case '&': {
          const ref = toReference(value, line, type === '&');
          if (typeof ref === 'string') problems.push(`${label}: ${shorten(text.slice(start, end))} at line ${line}: ${ref}`);
          else {
            parts.push({ kind: 'reference', reference: ref });
            references.push(ref);
          }
          break;
        }
        case '!':
        case '=':
          break;
        case '#':
        case '^': {
          const what = type === '#' ? 'sections' : 'inverted sections';
          problems.push(`${label}: ${shorten(text.slice(start, end))} at line ${line}: ${what} are not supported; ${SUPPORTED}`);
          const children = token[4];
          if (Array.isArray(children)) walk(children as Token[]);
          break;
        }
        case '>':
          problems.push(`${label}: ${shorten(text.slice(start, end))} at line ${line}: partials are not supported; ${SUPPORTED}`);
          break;
        default:
          problems.push(`${label}: ${shorten(text.slice(start, end))} at line ${line}: unknown tag type "${type}"; ${SUPPORTED}`);
      }
    }
  };
  walk(tokens);

  if (problems.length > 0) throw new AgentError('template', problems.join('\n'), { where: label, problems });
  return { label, parts: mergeText(parts), references };
}

/** `db.password` -> { secret: db, key: password }; the key is everything after the
 * first dot, so keys that contain dots (`tls.tls.crt`) still work. */
function toReference(name: string, line: number, raw: boolean): TemplateReference | string {
  const dot = name.indexOf('.');
  if (name === '') return 'an empty tag; use {{secret.key}}';
  if (name === '.') return '"." (the current context) is not supported; use {{secret.key}}';
  if (dot === -1) return `"${name}" names no key; use {{secret.key}}${SECRET_NAME.test(name) ? `, e.g. {{${name}.password}}` : ''}`;
  const secret = name.slice(0, dot);
  const key = name.slice(dot + 1);
  if (!SECRET_NAME.test(secret)) return `"${secret}" is not a secret name (names start with a letter and use letters, digits, "_" and "-"); use {{secret.key}}`;
  if (key === '') return `no key after "${secret}."; use {{secret.key}}`;
  return { secret, key, line, raw };
}

/** Mustache's messages end in `at <offset>`; the operator wants a line. */
function describeSyntaxError(e: unknown, text: string, lineAt: (offset: number) => number): string {
  const message = e instanceof Error ? e.message : String(e);
  let m = /^Unclosed section "(.*)" at (\d+)$/.exec(message);
  if (m) {
    const name = m[1] ?? '';
    const opened = lastSectionOpening(text, name, Number(m[2]));
    return `unclosed section "${name}" at line ${lineAt(opened ?? Number(m[2]))} (no matching {{/${name}}}; sections are not supported anyway: use {{secret.key}})`;
  }
  m = /^Unopened section "(.*)" at (\d+)$/.exec(message);
  if (m) return `unopened section "${m[1]}" at line ${lineAt(Number(m[2]))} (a {{/${m[1]}}} without a {{#${m[1]}}})`;
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

function lastSectionOpening(text: string, name: string, before: number): number | undefined {
  const re = new RegExp(`\\{\\{\\s*[#^]\\s*${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*\\}\\}`, 'g');
  let found: number | undefined;
  for (const m of text.matchAll(re)) if (m.index < before) found = m.index;
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
