// auth/token/*: lookup-self, renew-self, revoke-self, create.

import type { TokenEntry, TokenSpec, TokenStore } from './tokens.ts';
import { type FakeResponse, NO_CONTENT, badRequest, noHandler, ok, parseTtl, unsupported } from './wire.ts';

const isWrite = (method: string): boolean => method === 'POST' || method === 'PUT';

export function tokenEndpoint(tokens: TokenStore, method: string, op: string, body: Record<string, unknown>, token: TokenEntry): FakeResponse {
  switch (op) {
    case 'lookup-self':
      if (method !== 'GET' && !isWrite(method)) return unsupported();
      return ok({ data: tokens.describe(token) });
    case 'renew-self': {
      if (!isWrite(method)) return unsupported();
      const increment = parseTtl(body.increment);
      if (body.increment !== undefined && increment === undefined) return badRequest('invalid increment');
      const r = tokens.renew(token, increment);
      if (typeof r === 'string') return badRequest(r);
      return ok({ auth: tokens.authBlock(r.entry, r.ttl), warnings: r.warnings.length ? r.warnings : null });
    }
    case 'revoke-self':
      if (!isWrite(method)) return unsupported();
      tokens.revoke(token.id);
      return NO_CONTENT;
    case 'create':
      if (!isWrite(method)) return unsupported();
      return createChild(tokens, body, token);
    default:
      return noHandler(`auth/token/${op}`);
  }
}

function createChild(tokens: TokenStore, body: Record<string, unknown>, parent: TokenEntry): FakeResponse {
  const requested = Array.isArray(body.policies) ? body.policies.map(String) : parent.policies.filter((p) => p !== 'default');
  if (!parent.policies.includes('root') && requested.some((p) => !parent.policies.includes(p))) {
    return badRequest('child policies must be subset of parent');
  }
  const spec: TokenSpec = { policies: requested, namespace: parent.namespace, path: 'auth/token/create' };
  const ttl = parseTtl(body.ttl);
  const maxTtl = parseTtl(body.explicit_max_ttl);
  if (ttl !== undefined) spec.ttl = ttl;
  else if (!requested.includes('root')) spec.ttl = 2764800;
  if (maxTtl !== undefined && maxTtl > 0) spec.maxTtl = maxTtl;
  if (typeof body.renewable === 'boolean') spec.renewable = body.renewable;
  if (body.no_parent !== true) spec.parent = parent.id;
  if (typeof body.display_name === 'string') spec.displayName = `token-${body.display_name}`;
  if (body.no_default_policy === true) spec.noDefaultPolicy = true;
  const t = tokens.create(spec);
  return ok({ auth: tokens.authBlock(t, tokens.ttlSeconds(t)) });
}
