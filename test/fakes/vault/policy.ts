// ACL policies as Vault evaluates them, reduced to what the fake needs:
// path patterns with a trailing `*` (prefix) and `+` (one segment), the most
// specific matching rule of a policy wins, capabilities are unioned across
// policies, and `deny` beats everything.

export type Capability = 'create' | 'read' | 'update' | 'delete' | 'list' | 'patch' | 'sudo' | 'deny';
export type PolicyRules = Record<string, Capability[]>;

/** Vault's built-in `default` policy, the parts a client uses */
export const DEFAULT_POLICY: PolicyRules = {
  'auth/token/lookup-self': ['read'],
  'auth/token/renew-self': ['update'],
  'auth/token/revoke-self': ['update'],
  'sys/capabilities-self': ['update'],
  'sys/leases/renew': ['update'],
  'sys/leases/lookup': ['update'],
  'sys/renew': ['update'],
};

function patternToRegExp(pattern: string): RegExp {
  const prefix = pattern.endsWith('*');
  const body = prefix ? pattern.slice(0, -1) : pattern;
  const parts = body.split('+').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[^/]+')}${prefix ? '.*' : ''}$`);
}

/** rank: longer literal text is more specific; exact beats glob */
function specificity(pattern: string): number {
  const globs = (pattern.match(/[+*]/g) ?? []).length;
  return pattern.length * 10 - globs;
}

export function capabilitiesFor(policies: PolicyRules[], path: string): Set<Capability> {
  const caps = new Set<Capability>();
  for (const rules of policies) {
    let best: { score: number; caps: Capability[] } | undefined;
    for (const [pattern, c] of Object.entries(rules)) {
      if (!patternToRegExp(pattern).test(path)) continue;
      const score = specificity(pattern);
      if (!best || score > best.score) best = { score, caps: c };
    }
    for (const c of best?.caps ?? []) caps.add(c);
  }
  if (caps.has('deny')) return new Set(['deny']);
  return caps;
}

export function allows(caps: Set<Capability>, needed: Capability[]): boolean {
  if (caps.has('deny')) return false;
  return needed.some((c) => caps.has(c));
}
