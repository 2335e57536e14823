// Azure SDK errors -> AgentError. Pure. Reads the HTTP status and the error
// codes of the Key Vault error body (error.code, error.innererror.code) and
// the names of @azure/identity's errors; every message here is ours.

import { AgentError } from '../../errors.ts';
import { notBeforeText, parseRetryAfter, parseRetryAfterMs } from '../retry-after.ts';
import { isoOrUnknown } from '../backend-numbers.ts';

export interface AzureCallContext {
  provider: string;
  /** the secret's name in `secrets:` */
  secret: string;
  vaultUrl: string;
  secretName: string;
  version: string | undefined;
  credentialType: string;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS|DEPTH_ZERO/;

function vaultName(c: AzureCallContext): string {
  try {
    return new URL(c.vaultUrl).hostname.split('.')[0] ?? c.vaultUrl;
  } catch {
    return c.vaultUrl;
  }
}

function at(c: AzureCallContext): string {
  return `azure provider "${c.provider}"`;
}

function which(c: AzureCallContext): string {
  return c.version ? `secret "${c.secretName}" version ${c.version}` : `secret "${c.secretName}"`;
}

function init(c: AzureCallContext, cause?: unknown) {
  return { where: `secrets.${c.secret}`, provider: c.provider, ...(cause === undefined ? {} : { cause }) };
}

export function expired(c: AzureCallContext, expiresOn: Date, version: string | undefined): AgentError {
  return new AgentError('missing', `${at(c)}: secret "${c.secretName}"${version ? ` version ${version}` : ''} in ${c.vaultUrl} expired at ${isoOrUnknown(expiresOn)}: set a new version (\`az keyvault secret set --vault-name ${vaultName(c)} --name ${c.secretName} ...\`) or extend it (\`az keyvault secret set-attributes --vault-name ${vaultName(c)} --name ${c.secretName} --expires ...\`)`, init(c));
}

export function notYetValid(c: AzureCallContext, notBefore: Date, version: string | undefined): AgentError {
  return new AgentError('missing', `${at(c)}: secret "${c.secretName}"${version ? ` version ${version}` : ''} in ${c.vaultUrl} is not valid before ${isoOrUnknown(notBefore)} (its notBefore attribute): wait, or change it with \`az keyvault secret set-attributes --vault-name ${vaultName(c)} --name ${c.secretName} --not-before ...\``, init(c));
}

export function notJsonObject(c: AzureCallContext): AgentError {
  return new AgentError('validation', `${at(c)}: the value of ${which(c)} is not a JSON object, but its contentType is application/json or secrets.${c.secret}.json is true: store a JSON object, or drop json and the contentType to read it as key "value"`, init(c));
}

export function emptyValue(c: AzureCallContext): AgentError {
  return new AgentError('missing', `${at(c)}: ${which(c)} in ${c.vaultUrl} came back without a value`, init(c));
}

interface ErrorFacts {
  name: string;
  status: number | undefined;
  code: string | undefined;
  innerCode: string | undefined;
  message: string;
  causeCode: string | undefined;
  /** the Retry-After header of a 429 */
  retryAfter: string | undefined;
  /** retry-after-ms or x-ms-retry-after-ms */
  retryAfterMs: string | undefined;
}

function factsOf(e: unknown): ErrorFacts {
  const o = (e ?? {}) as { name?: unknown; statusCode?: unknown; code?: unknown; message?: unknown; cause?: { code?: unknown }; details?: unknown; response?: { bodyAsText?: unknown; headers?: { get?(name: string): string | undefined } } };
  let innerCode: string | undefined;
  let code = typeof o.code === 'string' ? o.code : undefined;
  const body = parseBody(o.details) ?? parseBody(o.response?.bodyAsText);
  if (body) {
    code = body.code ?? code;
    innerCode = body.innerCode;
  }
  return {
    name: typeof o.name === 'string' ? o.name : 'Error',
    status: typeof o.statusCode === 'number' ? o.statusCode : undefined,
    code,
    innerCode,
    message: typeof o.message === 'string' ? o.message : '',
    causeCode: typeof o.cause?.code === 'string' ? o.cause.code : undefined,
    retryAfter: typeof o.response?.headers?.get === 'function' ? o.response.headers.get('retry-after') : undefined,
    // Azure's millisecond forms, which its own SDK prefers to retry-after
    retryAfterMs: typeof o.response?.headers?.get === 'function' ? (o.response.headers.get('retry-after-ms') ?? o.response.headers.get('x-ms-retry-after-ms')) : undefined,
  };
}

/** Key Vault's `{"error":{"code","message","innererror":{"code"}}}`, as an object or its text */
function parseBody(v: unknown): { code?: string; innerCode?: string } | undefined {
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  const err = (obj as { error?: { code?: unknown; innererror?: { code?: unknown }; innerError?: { code?: unknown } } } | undefined)?.error;
  if (!err || typeof err !== 'object') return undefined;
  // the wire says `innererror`; the SDK's deserialized `details` says `innerError`
  const inner = (err.innerError ?? err.innererror)?.code;
  return {
    ...(typeof err.code === 'string' ? { code: err.code } : {}),
    ...(typeof inner === 'string' ? { innerCode: inner } : {}),
  };
}

export function credentialUnavailable(provider: string, credentialType: string, cause: unknown): AgentError {
  return new AgentError('auth', `azure provider "${provider}": no Azure credential available (credential type ${credentialType}): on AKS use workload identity (pod label azure.workload.identity/use: "true" and the service account annotated with azure.workload.identity/client-id); elsewhere a managed identity, or AZURE_CLIENT_ID with AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET`, { where: `providers.${provider}.credential`, provider, cause });
}

export function mapAzureError(e: unknown, c: AzureCallContext): AgentError {
  if (e instanceof AgentError) return e;
  const f = factsOf(e);
  const vn = vaultName(c);

  if (f.name === 'AbortError') {
    return new AgentError('timeout', `${at(c)}: request for ${which(c)} was aborted (init timeout or shutdown)`, init(c, e));
  }
  if (f.name === 'CredentialUnavailableError' || f.name === 'AggregateAuthenticationError') {
    return credentialUnavailable(c.provider, c.credentialType, e);
  }
  if (f.name === 'AuthenticationError') {
    return new AgentError('auth', `${at(c)}: Microsoft Entra ID refused to issue a token for the vault (credential type ${c.credentialType}): check the client id, tenant id, the federated credential or secret, and that the identity exists`, init(c, e));
  }
  if (/challenge resource .* does not match/i.test(f.message)) {
    return new AgentError('config', `${at(c)}: the vault at ${c.vaultUrl} answered with an auth challenge for a resource outside its domain: if vaultUrl is a private endpoint under a custom name or an emulator, set providers.${c.provider}.disableChallengeResourceVerification: true`, { where: `providers.${c.provider}.vaultUrl`, provider: c.provider, cause: e });
  }
  if (f.status === 404) {
    if (c.version) {
      return new AgentError('missing', `${at(c)}: ${which(c)} was not found in ${c.vaultUrl}: check secrets.${c.secret}.version (\`az keyvault secret list-versions --vault-name ${vn} --name ${c.secretName}\`)`, init(c, e));
    }
    return new AgentError('missing', `${at(c)}: secret "${c.secretName}" was not found in ${c.vaultUrl}: check secrets.${c.secret}.name; if it was deleted recently, recover it with \`az keyvault secret recover --vault-name ${vn} --name ${c.secretName}\``, init(c, e));
  }
  if (f.status === 403 && (f.innerCode === 'SecretDisabled' || /disabled secret/i.test(f.message))) {
    const v = c.version ? ` --version ${c.version}` : '';
    return new AgentError('missing', `${at(c)}: ${c.version ? which(c) : `the current version of secret "${c.secretName}"`} in ${c.vaultUrl} is disabled: enable it with \`az keyvault secret set-attributes --vault-name ${vn} --name ${c.secretName}${v} --enabled true\` or set a new version`, init(c, e));
  }
  if (f.status === 403 && f.innerCode === 'ForbiddenByFirewall') {
    return new AgentError('auth', `${at(c)}: the firewall of ${c.vaultUrl} blocks this client's address (ForbiddenByFirewall): allow the pod's egress address or subnet, or use a private endpoint`, init(c, e));
  }
  if (f.status === 403) {
    return new AgentError('auth', `${at(c)}: access denied reading ${which(c)} in ${c.vaultUrl}${f.innerCode ? ` (${f.innerCode})` : ''}: give the identity the "Key Vault Secrets User" role on the vault or secret (RBAC vaults), or the "get" secret permission in the vault's access policy`, init(c, e));
  }
  if (f.status === 401) {
    return new AgentError('auth', `${at(c)}: ${c.vaultUrl} rejected the token (HTTP 401, credential type ${c.credentialType}): check that the identity's tenant is the vault's tenant`, init(c, e));
  }
  if (f.status === 429) {
    const retryAfterMs = parseRetryAfterMs(f.retryAfterMs) ?? parseRetryAfter(f.retryAfter);
    return new AgentError('unavailable', `${at(c)}: Key Vault throttled the request for ${which(c)} (HTTP 429${f.code ? ` ${f.code}` : ''}); will retry with backoff${notBeforeText(retryAfterMs)}`, {
      ...init(c, e),
      retryable: true,
      throttled: true,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }
  if (f.status !== undefined && f.status >= 500) {
    return new AgentError('unavailable', `${at(c)}: Key Vault failed the request for ${which(c)} (HTTP ${f.status}); will retry`, { ...init(c, e), retryable: true });
  }
  const netCode = [f.causeCode, f.code].find((x) => x !== undefined && (NETWORK_CODES.has(x) || TLS_CODES.test(x)));
  const tls = netCode !== undefined && TLS_CODES.test(netCode) ? netCode : /self[- ]signed|certificate|unable to verify/i.test(f.message) ? 'TLS' : undefined;
  if (tls) {
    return new AgentError('unavailable', `${at(c)}: TLS verification of ${c.vaultUrl} failed (${tls}): if the vault uses a private CA, set providers.${c.provider}.caFile to it`, { ...init(c, e), retryable: false });
  }
  if (netCode || f.code === 'REQUEST_SEND_ERROR') {
    return new AgentError('unavailable', `${at(c)}: cannot reach Key Vault at ${c.vaultUrl} (${netCode ?? 'request not sent'}); will retry`, { ...init(c, e), retryable: true });
  }
  return new AgentError('unavailable', `${at(c)}: reading ${which(c)} from ${c.vaultUrl} failed (${f.status ? `HTTP ${f.status}` : f.name}${f.code ? ` ${f.code}` : ''}); will retry`, { ...init(c, e), retryable: true });
}
