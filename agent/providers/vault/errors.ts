// Every way a Vault call can fail -> one AgentError with its own message.
// Pure. Vault's own error texts are quoted only after the caller's sensitive
// inputs (token, JWT, secret ID) are cut out of them, since some Vault
// messages echo request fields. Transport errors are never attached as
// `cause`, only their code: an HTTP client's error can carry the request,
// token header included.

import { AgentError } from '../../errors.ts';
import { notBeforeText } from '../retry-after.ts';
import { BAD_HTTP, NOT_JSON, TOO_LARGE } from './transport.ts';

export interface VaultCallContext {
  /** the provider's name in `providers:` */
  provider: string;
  address: string;
  namespace: string | undefined;
  /** the API path called, without query */
  path: string;
  /** what we were doing, for the message: `reading secret/data/x` */
  action: string;
  /** config path the operator should look at: `secrets.db`, `providers.vault.auth` */
  where: string;
  /** the capability the ACL must grant on `path` */
  capability: 'read' | 'update';
  /** strings that must never be echoed */
  sensitive: readonly string[];
  /** tls.caFile, for the TLS hint */
  caFile?: string | undefined;
  timeoutMs?: number;
  /** the namespace the token belongs to (lookup-self's namespace_path), when known */
  tokenNamespace?: string | undefined;
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
const REFUSED = new Set(['ECONNREFUSED']);
const NO_HOST = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUTS = new Set(['ECONNABORTED', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function prefix(c: VaultCallContext): string {
  return `vault provider "${c.provider}"`;
}

function inNamespace(c: VaultCallContext): string {
  return c.namespace ? ` in namespace "${c.namespace}"` : '';
}

function init(c: VaultCallContext, extra: { retryable?: boolean; cause?: unknown } = {}) {
  return { where: c.where, provider: c.provider, ...extra };
}

/** Vault's `errors` list as one line, with sensitive inputs cut out */
export function vaultSays(body: unknown, sensitive: readonly string[]): string {
  const errs = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errs)) return '';
  let text = errs
    .filter((e): e is string => typeof e === 'string')
    // go-multierror renders "1 error occurred:\n\t* permission denied\n\n"
    .map((e) => e.replace(/^\d+ errors? occurred:\s*/, '').replace(/\n\t\* /g, '; ').replace(/^\* /, ''))
    .join('; ')
    .replace(/\s+/g, ' ')
    .trim();
  for (const s of sensitive) if (s.length >= 4) text = text.split(s).join('[REDACTED]');
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

function warningsOf(body: unknown): string[] {
  const w = (body as { warnings?: unknown } | undefined)?.warnings;
  return Array.isArray(w) ? w.filter((x): x is string => typeof x === 'string') : [];
}

/** KV v2 paths put `data/` after the mount: secret/app -> secret/data/app */
export function kvV2PathSuggestion(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? `${path}/data/<name>` : `${path.slice(0, slash)}/data${path.slice(slash)}`;
}

/** "team/" and "/team" are the same namespace as "team"; the root one is "" */
function namespaceName(ns: string | undefined): string {
  return (ns ?? '').replace(/^\/+|\/+$/g, '');
}

/** when the token was made in another namespace than the one requests go to, say so: no policy change fixes that */
function tokenNamespaceHint(c: VaultCallContext): string {
  if (c.tokenNamespace === undefined) return '';
  const token = namespaceName(c.tokenNamespace);
  const configured = namespaceName(c.namespace);
  if (token === configured) return '';
  const setting = `providers.${c.provider}.namespace`;
  if (configured === '') return `; the token belongs to namespace "${token}" but ${setting} is not set; set namespace: ${token}`;
  return `; the token belongs to namespace "${token === '' ? '(root)' : token}" while requests go to namespace "${configured}" (${setting}); use a token of that namespace or fix ${setting}`;
}

export function permissionDenied(c: VaultCallContext): AgentError {
  return new AgentError(
    'auth',
    `${prefix(c)}: permission denied ${c.action}${inNamespace(c)}: the token's policies must grant ${c.capability} on it: path "${c.path}" { capabilities = ["${c.capability}"] }${tokenNamespaceHint(c)}`,
    init(c),
  );
}

/** Vault's answer (404) to X-Vault-Namespace naming a namespace it does not have */
export function isNamespaceNotFound(body: unknown): boolean {
  return /namespace not found/i.test(vaultSays(body, []));
}

export function namespaceMissing(c: VaultCallContext): AgentError {
  return new AgentError(
    'auth',
    `${prefix(c)}: namespace "${namespaceName(c.namespace)}" does not exist at Vault at ${c.address} (Vault: namespace not found, ${c.action}); check providers.${c.provider}.namespace, or create it (bao namespace create / vault namespace create)`,
    { where: `providers.${c.provider}.namespace`, provider: c.provider },
  );
}

/**
 * An answer that is not Vault's: a body that is not JSON at any status, or
 * a 404 where every Vault has the endpoint (token lookup, a login). A 5xx
 * page is retried (a proxy in front of a Vault that is restarting); anything
 * else will not change by asking again.
 */
export function notVaultApi(c: VaultCallContext, status: number, what: string): AgentError {
  return new AgentError(
    'unavailable',
    `${prefix(c)}: this is not Vault's API at ${c.address}: ${c.action} was answered HTTP ${status}, ${what}; address must be Vault's own URL with no path (e.g. https://vault.vault.svc:8200), not a web page, a proxy path or another service`,
    init(c, { retryable: status >= 500, cause: { code: 'ERR_VAULT_NOT_VAULT', status } }),
  );
}

/** a 404 from an endpoint every Vault has: the namespace is missing, or address is not Vault's API */
export function endpointMissing(c: VaultCallContext, body: unknown): AgentError {
  if (isNamespaceNotFound(body)) return namespaceMissing(c);
  return notVaultApi(c, 404, `though every Vault serves ${c.path}`);
}

export function notFound(c: VaultCallContext, body: unknown): AgentError {
  const v2Mount = warningsOf(body).some((w) => w.includes('versioned K/V'));
  const hint = v2Mount
    ? `: ${c.path} is on a KV version 2 mount, where reads go through <mount>/data/, e.g. ${kvV2PathSuggestion(c.path)}`
    : '';
  return new AgentError('missing', `${prefix(c)}: no secret at ${c.path}${inNamespace(c)}${hint}`, init(c));
}

export function versionDeleted(c: VaultCallContext, version: number, deletionTime: string): AgentError {
  return new AgentError(
    'missing',
    `${prefix(c)}: version ${version} of ${c.path}${inNamespace(c)} was deleted at ${deletionTime}; undelete it or write a new version`,
    init(c),
  );
}

export function versionDestroyed(c: VaultCallContext, version: number): AgentError {
  return new AgentError(
    'missing',
    `${prefix(c)}: version ${version} of ${c.path}${inNamespace(c)} was destroyed and cannot be recovered; write a new version, or pin another version in ${c.where}.version`,
    init(c),
  );
}

export function versionMissing(c: VaultCallContext, version: number): AgentError {
  return new AgentError(
    'missing',
    `${prefix(c)}: no version ${version} of ${c.path}${inNamespace(c)}: the secret has no such version, or does not exist at all; pin a version it has in ${c.where}.version, or remove version to read the latest`,
    init(c),
  );
}

export function emptyResponse(c: VaultCallContext): AgentError {
  return new AgentError('missing', `${prefix(c)}: Vault returned no data for ${c.path}${inNamespace(c)}; is it a readable secret path?`, init(c));
}

/**
 * Vault answers both "this lease is gone" and "the engine failed to renew
 * it" (a database plugin that cannot reach its database) with HTTP 400; only
 * the text tells them apart. Vault's own texts for a lease it no longer has
 * or will not renew: "lease not found", "lease expired", "lease is not
 * renewable", "invalid lease". A 400 without any text is taken as gone, as
 * the status alone always was.
 */
export function isLeaseGone(body: unknown): boolean {
  const says = vaultSays(body, []);
  return says === '' || /lease (?:not found|expired|is not renewable)|invalid lease|lease is expired|not renewable/i.test(says);
}

/** a renewal the engine failed (plugin error): the lease may still be live, so it is kept and the renewal retried */
export function leaseRenewFailed(c: VaultCallContext, leaseId: string, body: unknown): AgentError {
  const says = vaultSays(body, c.sensitive);
  return new AgentError(
    'unavailable',
    `${prefix(c)}: Vault at ${c.address} could not renew lease ${leaseId}${says ? ` (Vault: ${says})` : ''}; the lease and its credentials stay valid until their TTL runs out; retrying the renewal`,
    init(c, { retryable: true }),
  );
}

/** Vault refused to renew a lease (not found, expired, not renewable): the values are gone */
export function leaseGone(c: VaultCallContext, leaseId: string, body: unknown): AgentError {
  const says = vaultSays(body, c.sensitive);
  return new AgentError(
    'missing',
    `${prefix(c)}: lease ${leaseId} can no longer be renewed${says ? ` (Vault: ${says})` : ''}: the credentials were revoked or have expired; fetch new ones`,
    init(c),
  );
}

/**
 * A non-2xx answer from Vault. `retryAfterMs` is its Retry-After, honoured on
 * 429 (a rate limit quota: we ask too often, so `throttled`) and 503 (Vault
 * overloaded or sealed: not our rate, so only the wait).
 */
export function httpFailure(c: VaultCallContext, status: number, body: unknown, retryAfterMs?: number): AgentError {
  const says = vaultSays(body, c.sensitive);
  const quoted = says ? `: ${says}` : '';
  const wait = status === 429 || status === 503 ? retryAfterMs : undefined;
  const waitInit = wait === undefined ? {} : { retryAfterMs: wait };
  switch (true) {
    case status === 400:
      return new AgentError('missing', `${prefix(c)}: Vault at ${c.address} refused ${c.action}${inNamespace(c)}${quoted}`, init(c));
    case status === 403:
      return permissionDenied(c);
    case status === 404 && isNamespaceNotFound(body):
      return namespaceMissing(c);
    case status === 404:
      return notFound(c, body);
    case status === 405:
      return new AgentError('config', `${prefix(c)}: Vault at ${c.address} does not support ${c.action} (HTTP 405): check ${c.where}`, init(c));
    case status === 307 || status === 308:
      // the agent follows no redirect: it would take the token to an address nobody configured
      return new AgentError(
        'unavailable',
        `${prefix(c)}: Vault at ${c.address} redirected ${c.action} elsewhere (HTTP ${status}), as a standby node does; point address at the active node or at the cluster's load balancer`,
        init(c),
      );
    case status === 412:
      return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} has not yet replicated the state needed for ${c.action} (HTTP 412); retrying`, init(c));
    case status === 429:
      return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} is rate limiting requests (HTTP 429) while ${c.action}; retrying later${notBeforeText(wait)}`, {
        ...init(c),
        throttled: true,
        ...waitInit,
      });
    case status === 473:
      return new AgentError(
        'unavailable',
        `${prefix(c)}: Vault at ${c.address} is a performance standby node (HTTP 473) and did not serve ${c.action}; point address at the active node or at the cluster's load balancer`,
        init(c),
      );
    case status === 503 && /sealed/i.test(says):
      return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} is sealed; requests succeed again once it is unsealed (vault operator unseal)${wait === undefined ? '' : `; retrying${notBeforeText(wait)}`}`, { ...init(c), ...waitInit });
    case status >= 500:
      return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} failed with HTTP ${status} while ${c.action}${quoted}${wait === undefined ? '' : `; retrying${notBeforeText(wait)}`}`, { ...init(c), ...waitInit });
    default:
      return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} answered HTTP ${status} while ${c.action}${quoted}`, init(c));
  }
}

function errorCode(e: unknown): string | undefined {
  const o = e as { code?: unknown; cause?: { code?: unknown; errors?: Array<{ code?: unknown }> }; errors?: Array<{ code?: unknown }> } | undefined;
  for (const candidate of [o?.code, o?.cause?.code, o?.errors?.[0]?.code, o?.cause?.errors?.[0]?.code]) {
    if (typeof candidate === 'string' && candidate !== '' && candidate !== 'ERR_BAD_REQUEST') return candidate;
  }
  return undefined;
}

function tlsHint(c: VaultCallContext, code: string): string {
  const host = URL.canParse(c.address) ? new URL(c.address).hostname : c.address;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `the certificate does not name ${host}; use an address that matches it, or set tls.serverName to a name the certificate carries`;
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return "renew Vault's certificate or fix the clock";
  return c.caFile
    ? `check that tls.caFile (${c.caFile}) holds the CA that signed Vault's certificate`
    : "set tls.caFile to the CA that signed Vault's certificate";
}

/**
 * A failure below HTTP: no answer at all. Unreachable, refused and timed out
 * are `unavailable` and retryable. A certificate that does not verify is also
 * `unavailable` (Vault never saw our identity, so it is not `auth`), but NOT
 * retryable: a wrong CA file or name does not fix itself, and retrying would
 * only hide the real problem behind backoff until init times out.
 */
export function transportFailure(c: VaultCallContext, e: unknown): AgentError {
  const code = errorCode(e);
  const cause = code ? { code } : undefined;
  const host = URL.canParse(c.address) ? new URL(c.address).hostname : c.address;
  if (code && TLS_CODES.has(code)) {
    return new AgentError('unavailable', `${prefix(c)}: cannot verify the TLS certificate of Vault at ${c.address} (${code}): ${tlsHint(c, code)}`, init(c, { retryable: false, cause }));
  }
  if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new AgentError('unavailable', `${prefix(c)}: TLS handshake with Vault at ${c.address} failed (${code}): does the server speak https on that port?`, init(c, { retryable: false, cause }));
  }
  if (code === NOT_JSON) {
    const o = e as { status?: unknown; contentType?: unknown; bytes?: unknown; httpToHttps?: unknown };
    if (o.httpToHttps === true) {
      const https = c.address.replace(/^http:/, 'https:');
      return new AgentError(
        'unavailable',
        `${prefix(c)}: Vault at ${c.address} listens with TLS (it answered "Client sent an HTTP request to an HTTPS server"), but address says http://; use ${https} (with tls.caFile for its CA)`,
        init(c, { retryable: false, cause }),
      );
    }
    return notVaultApi(c, Number(o.status), `${String(o.contentType)}, ${String(o.bytes)} bytes that are not JSON (Vault answers everything in JSON)`);
  }
  if (code === TOO_LARGE) {
    const limit = Number((e as { limit?: unknown }).limit);
    return new AgentError(
      'unavailable',
      `${prefix(c)}: Vault at ${c.address} answered ${c.action} with more than ${sizeText(limit)}, more than Vault ever sends (its max_request_size): is address Vault's API, not a file server or a stream?`,
      init(c, { retryable: false, cause }),
    );
  }
  if (code === BAD_HTTP) {
    // the message names the framing problem in our own words, never the bytes sent
    const said = (e as { what?: unknown }).what;
    const what = typeof said === 'string' ? said : 'unreadable';
    return new AgentError(
      'unavailable',
      `${prefix(c)}: Vault at ${c.address} answered ${c.action} with something that is not HTTP/1.1 as Vault sends it (${what}): is address Vault's API, not another service on that port?`,
      init(c, { retryable: false, cause }),
    );
  }
  if (code && REFUSED.has(code)) {
    return new AgentError('unavailable', `${prefix(c)}: cannot reach Vault at ${c.address}: connection refused (${code}) while ${c.action}; is Vault running there?`, init(c, { cause }));
  }
  if (code && NO_HOST.has(code)) {
    return new AgentError('unavailable', `${prefix(c)}: cannot reach Vault at ${c.address}: host ${host} not found (${code}); check address`, init(c, { cause }));
  }
  if (code && TIMEOUTS.has(code)) {
    const secs = c.timeoutMs === undefined ? '' : ` within ${c.timeoutMs / 1000}s`;
    return new AgentError('unavailable', `${prefix(c)}: Vault at ${c.address} did not answer${secs} while ${c.action}`, init(c, { cause }));
  }
  const what = code ?? (e instanceof Error ? e.name : typeof e);
  return new AgentError('unavailable', `${prefix(c)}: request to Vault at ${c.address} failed (${what}) while ${c.action}`, init(c, { cause }));
}

/** the caller's AbortSignal fired: keep its reason when it is ours */
export function aborted(c: VaultCallContext, reason: unknown): AgentError {
  if (reason instanceof AgentError) return reason;
  return new AgentError('timeout', `${prefix(c)}: ${c.action} was cancelled before Vault at ${c.address} answered`, init(c, { retryable: false }));
}

/** 33554432 -> "32 MiB", 1000 -> "1000 bytes" */
function sizeText(bytes: number): string {
  return bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}
