// Applies a secret's `require` rules to its data. Pure: everything it needs
// from outside (other secrets, the clock) comes through ctx.
//
// Semantics:
// - every listed key must be present and non-empty; `optional: true` lets it
//   be absent, and an optional key whose value is empty counts as absent
//   (`DB_SSL_CA=` in an .env file means "not set");
// - the remaining rules are independent and all are reported at once, except
//   that rules about a decoded value (bytes, certificate dates, key match)
//   only run once the value has the right format;
// - bytes/minBytes apply to base64 and hex only; matchesCertificate implies
//   format pem-private-key.

import type { Rule } from '../config/rules-schema.ts';
import type { Finding, Problem } from './problem.ts';
import { checkLength } from './length.ts';
import { checkPattern } from './pattern.ts';
import { checkBase64, checkHex } from './encoding.ts';
import { checkJson, checkUrl } from './text-formats.ts';
import { checkCertificate } from './pem-certificate.ts';
import { checkMatchesCertificate, parsePrivateKey } from './pem-private-key.ts';

export interface ValidationContext {
  /** a key of any secret, the one being validated included, for matchesCertificate; undefined when absent */
  lookup(secretName: string, key: string): string | undefined;
  /** epoch ms */
  now(): number;
}

export function validateSecret(
  secretName: string,
  rules: Record<string, Rule>,
  data: Record<string, string>,
  ctx: ValidationContext,
): Problem[] {
  const problems: Problem[] = [];
  for (const [key, rule] of Object.entries(rules)) {
    const value = Object.hasOwn(data, key) ? data[key] : undefined;
    for (const f of checkKey(value, rule, ctx, Object.keys(data))) {
      problems.push({ secret: secretName, key, rule: f.rule, message: `${secretName}.${key}: ${f.text}` });
    }
  }
  return problems;
}

function checkKey(value: string | undefined, rule: Rule, ctx: ValidationContext, presentKeys: string[]): Finding[] {
  if (value === undefined || value === '') {
    if (rule.optional) return [];
    if (value === '') return [{ rule: 'nonEmpty', text: 'is empty' }];
    return [{ rule: 'present', text: `is missing (${describeKeys(presentKeys)})` }];
  }
  return [...checkLength(value, rule), ...checkPattern(value, rule), ...checkFormat(value, rule, ctx)];
}

function checkFormat(value: string, rule: Rule, ctx: ValidationContext): Finding[] {
  if (rule.matchesCertificate !== undefined || rule.format === 'pem-private-key') {
    const parsed = parsePrivateKey(value);
    if (!parsed.ok) return [{ rule: 'format', text: parsed.text }];
    if (rule.matchesCertificate === undefined) return [];
    const [secret, key] = splitReference(rule.matchesCertificate);
    return checkMatchesCertificate(parsed.key, rule.matchesCertificate, ctx.lookup(secret, key));
  }
  switch (rule.format) {
    case 'base64': return checkBase64(value, rule);
    case 'hex': return checkHex(value, rule);
    case 'url': return checkUrl(value);
    case 'json': return checkJson(value);
    case 'pem-certificate': return checkCertificate(value, rule, ctx.now());
    case undefined: return [];
  }
}

/** "tls.crt" -> secret "tls", key "crt"; secret names have no dots, keys may ("ingress.tls.crt") */
export function splitReference(ref: string): [secret: string, key: string] {
  const dot = ref.indexOf('.');
  return [ref.slice(0, dot), ref.slice(dot + 1)];
}

// Key names are not secret; listing them turns a typo into an obvious fix.
function describeKeys(keys: string[]): string {
  if (keys.length === 0) return 'the secret has no keys';
  const shown = [...keys].sort().slice(0, 10).join(', ');
  return `the secret has: ${shown}${keys.length > 10 ? `, and ${keys.length - 10} more` : ''}`;
}
