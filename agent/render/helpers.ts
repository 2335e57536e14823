// What the helper sections compute, before the template's escape mode writes
// the result. Every result derived from a secret is itself a secret, so it is
// registered with the log scrubber like the values providers hand over.

import { registerSecretValue } from '../log/secret-registry.ts';
import { jsonText } from './escapers/json.ts';
import type { SecretData } from './render.ts';
import type { TemplateReference, ValueExpr } from './template.ts';

export type Evaluated = { ok: true; value: string } | { ok: false; reason: string };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64_LINE_BREAKS = /\r?\n/g;

/** Evaluates a value section's expression (without its erl.* type, which render applies). */
export function evaluate(expr: ValueExpr, data: SecretData): Evaluated {
  switch (expr.kind) {
    case 'ref':
      return expr.ref.key === undefined ? { ok: true, value: wholeSecretJson(data, expr.ref.secret) } : { ok: true, value: lookup(data, expr.ref) ?? '' };
    case 'default':
      return { ok: true, value: lookup(data, expr.ref) ?? expr.fallback };
    case 'erl':
      return evaluate(expr.inner, data);
    case 'helper': {
      const inner = evaluate(expr.inner, data);
      if (!inner.ok) return inner;
      // {{#json}}{{db}}{{/json}} is already JSON
      if (expr.helper === 'json') return expr.inner.kind === 'ref' && expr.inner.ref.key === undefined ? inner : { ok: true, value: jsonText(inner.value) };
      if (expr.helper === 'base64encode') return derived(Buffer.from(inner.value, 'utf8').toString('base64'));
      return base64Decode(inner.value, expr.inner);
    }
  }
}

function base64Decode(text: string, from: ValueExpr): Evaluated {
  const compact = text.replace(BASE64_LINE_BREAKS, '');
  if (!BASE64.test(compact)) {
    return { ok: false, reason: `is not valid base64 (letters, digits, "+" and "/" in groups of four, "=" padding at the end, line breaks allowed)${fromWhat(from)}` };
  }
  const bytes = Buffer.from(compact, 'base64');
  try {
    return derived(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return { ok: false, reason: `decodes to bytes that are not UTF-8 text, which a template cannot write; write it still encoded and decode it in the application${fromWhat(from)}` };
  }
}

function fromWhat(from: ValueExpr): string {
  return from.kind === 'ref' || from.kind === 'default' ? '' : ` (after the inner ${from.kind === 'helper' ? `{{#${from.helper}}}` : 'section'})`;
}

function derived(value: string): Evaluated {
  registerSecretValue(value);
  return { ok: true, value };
}

/** The whole secret as one JSON object, keys sorted so the file only changes when a value does. */
function wholeSecretJson(data: SecretData, secret: string): string {
  const keys = Object.hasOwn(data, secret) ? data[secret]! : {};
  const sorted = Object.fromEntries(Object.keys(keys).sort().map((k) => [k, keys[k]]));
  return jsonText(sorted);
}

export function lookup(data: SecretData, ref: Pick<TemplateReference, 'secret' | 'key'>): string | undefined {
  const secret = Object.hasOwn(data, ref.secret) ? data[ref.secret] : undefined;
  if (secret === undefined || ref.key === undefined || !Object.hasOwn(secret, ref.key)) return undefined;
  const value = secret[ref.key];
  return typeof value === 'string' ? value : undefined;
}

