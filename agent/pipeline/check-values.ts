// After fetching: every `require` rule, plus every key a template uses, must
// hold. Produces problems (names and rules, never values).

import type { AgentConfig } from '../config/load.ts';
import type { SecretValue } from '../providers/provider.ts';
import { validateSecret, type Problem } from '../validate/index.ts';
import type { PreparedTemplate } from './prepare-templates.ts';

export function checkValues(config: AgentConfig, templates: PreparedTemplate[], values: Map<string, SecretValue>, now: number, names?: Iterable<string>): Problem[] {
  const problems: Problem[] = [];
  const lookup = (secret: string, key: string) => {
    const data = values.get(secret)?.data;
    return data !== undefined && Object.hasOwn(data, key) ? data[key] : undefined;
  };
  const only = names ? new Set(names) : undefined;
  for (const [name, value] of values) {
    if (only && !only.has(name)) continue;
    const secret = Object.hasOwn(config.secrets, name) ? config.secrets[name] : undefined;
    if (!secret) continue;
    problems.push(...validateSecret(name, secret.require, value.data, { lookup, now: () => now }));
  }
  // Keys that templates use but `require` does not list are still required:
  // a missing key never renders as an empty string. Keys inside {{#default}}
  // may be absent, and {{#json}}{{db}}{{/json}} names no key.
  const reported = new Set(problems.map((p) => `${p.secret}.${p.key}`));
  for (const t of templates) {
    for (const ref of t.parsed.references) {
      const value = values.get(ref.secret);
      if (!value || ref.key === undefined || ref.optional || (only && !only.has(ref.secret))) continue;
      const id = `${ref.secret}.${ref.key}`;
      if (!Object.hasOwn(value.data, ref.key) && !reported.has(id)) {
        reported.add(id);
        problems.push({ secret: ref.secret, key: ref.key, rule: 'present', message: `${id}: missing (used by ${t.config.label} at line ${ref.line}; keys present: ${Object.keys(value.data).join(', ') || 'none'})` });
      }
    }
  }
  return problems;
}
