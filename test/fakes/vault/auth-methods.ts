// Login endpoints: auth/<mount>/login for the kubernetes and approle methods,
// with the validation order and messages of the real plugins.

import type { TokenEntry, TokenStore } from './tokens.ts';
import { type FakeResponse, badRequest, invalidToken, ok, unsupported } from './wire.ts';

export interface LoginRole {
  policies: string[];
  /** token TTL in seconds */
  ttl?: number;
  /** token max TTL in seconds */
  maxTtl?: number;
  renewable?: boolean;
}

export interface KubernetesRole extends LoginRole {
  /** service account JWTs the (pretend) TokenReview accepts for this role */
  jwts: string[];
}

export interface AppRole extends LoginRole {
  roleId: string;
  secretIds: string[];
}

function issue(tokens: TokenStore, role: LoginRole, namespace: string, path: string, meta: Record<string, string>): FakeResponse {
  const spec: Parameters<TokenStore['create']>[0] = { policies: role.policies, namespace, path, meta, displayName: path.split('/')[1] ?? 'login' };
  if (role.ttl !== undefined) spec.ttl = role.ttl;
  if (role.maxTtl !== undefined) spec.maxTtl = role.maxTtl;
  if (role.renewable !== undefined) spec.renewable = role.renewable;
  const t: TokenEntry = tokens.create(spec);
  return ok({ auth: tokens.authBlock(t, tokens.ttlSeconds(t)) });
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

export class KubernetesAuth {
  readonly roles = new Map<string, KubernetesRole>();
  readonly #mount: string;
  readonly #tokens: TokenStore;
  readonly #namespace: string;

  constructor(mount: string, tokens: TokenStore, namespace: string) {
    this.#mount = mount;
    this.#tokens = tokens;
    this.#namespace = namespace;
  }

  login(method: string, body: Record<string, unknown>): FakeResponse {
    if (method !== 'PUT' && method !== 'POST') return unsupported();
    const roleName = str(body.role);
    if (!roleName) return badRequest('missing role');
    const jwt = str(body.jwt);
    if (!jwt) return badRequest('missing jwt');
    const role = this.roles.get(roleName);
    if (!role) return badRequest(`invalid role name "${roleName}"`);
    // the plugin maps a failed signature check or TokenReview to ErrPermissionDenied
    if (!role.jwts.includes(jwt)) return invalidToken();
    return issue(this.#tokens, role, this.#namespace, `auth/${this.#mount}/login`, { role: roleName });
  }
}

export class AppRoleAuth {
  readonly roles = new Map<string, AppRole & { name: string }>();
  readonly #mount: string;
  readonly #tokens: TokenStore;
  readonly #namespace: string;

  constructor(mount: string, tokens: TokenStore, namespace: string) {
    this.#mount = mount;
    this.#tokens = tokens;
    this.#namespace = namespace;
  }

  login(method: string, body: Record<string, unknown>): FakeResponse {
    if (method !== 'PUT' && method !== 'POST') return unsupported();
    const roleId = str(body.role_id);
    if (!roleId) return badRequest('missing role_id');
    const role = [...this.roles.values()].find((r) => r.roleId === roleId);
    if (!role) return badRequest('invalid role or secret ID');
    const secretId = str(body.secret_id);
    if (!secretId) return badRequest('missing secret_id');
    if (!role.secretIds.includes(secretId)) return badRequest('invalid role or secret ID');
    return issue(this.#tokens, role, this.#namespace, `auth/${this.#mount}/login`, { role_name: role.name });
  }
}
