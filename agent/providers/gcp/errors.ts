// gRPC / google-auth errors from the Secret Manager client -> AgentError.
// Pure. Uses the status code; of the service's text it reads only the
// version state (DISABLED/DESTROYED) out of FAILED_PRECONDITION, and never
// copies it, so every message here is ours and carries no value. Of the
// richer error model's details (google-gax decodes the grpc-status-details-bin
// trailer into `statusDetails`) it reads RetryInfo's delay.

import { AgentError } from '../../errors.ts';
import { notBeforeText } from '../retry-after.ts';

export interface GcpCallContext {
  provider: string;
  /** the secret's name in `secrets:` */
  secret: string;
  project: string;
  /** the secret id (or full path) as configured */
  secretName: string;
  /** the version as configured: latest, a number, an alias */
  version: string;
  /** the IAM permission the failed call needs */
  permission: 'secretmanager.versions.access' | 'secretmanager.versions.get';
  endpoint: string;
}

// google.rpc.Code
const CODE = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;
const CODE_NAMES = new Map<number, string>(Object.entries(CODE).map(([k, v]) => [v, k]));
const RETRYABLE = new Set<number>([CODE.UNAVAILABLE, CODE.RESOURCE_EXHAUSTED, CODE.DEADLINE_EXCEEDED, CODE.INTERNAL, CODE.ABORTED, CODE.UNKNOWN]);

export type VersionState = 'DISABLED' | 'DESTROYED';

function at(c: GcpCallContext): string {
  return `gcp provider "${c.provider}"`;
}

function init(c: GcpCallContext, cause?: unknown) {
  return { where: `secrets.${c.secret}`, provider: c.provider, ...(cause === undefined ? {} : { cause }) };
}

function shortName(c: GcpCallContext): string {
  return c.secretName.replace(/^projects\/[^/]+\/secrets\//, '');
}

export function versionNotUsable(c: GcpCallContext, state: VersionState, resolvedVersion?: string): AgentError {
  const v = resolvedVersion ?? c.version;
  const which = resolvedVersion && resolvedVersion !== c.version ? `version ${c.version} (${resolvedVersion})` : `version ${c.version}`;
  const s = shortName(c);
  const fix =
    state === 'DISABLED'
      ? `enable it with \`gcloud secrets versions enable ${v} --secret ${s} --project ${c.project}\` or add a new version`
      : `its data is gone for good; add a new version (\`gcloud secrets versions add ${s} --project ${c.project} --data-file=FILE\`) or pin another version in secrets.${c.secret}.version`;
  return new AgentError('missing', `${at(c)}: secret "${s}" ${which} in project ${c.project} is ${state}: ${fix}`, init(c));
}

export function checksumMismatch(c: GcpCallContext, resolvedVersion: string): AgentError {
  return new AgentError('unavailable', `${at(c)}: secret "${shortName(c)}" version ${resolvedVersion} failed its CRC32C check (payload damaged in transit); will retry`, { ...init(c), retryable: true });
}

export function payloadProblem(c: GcpCallContext, problem: 'not-utf8' | 'not-json-object'): AgentError {
  const text =
    problem === 'not-utf8'
      ? `is not UTF-8 text: set secrets.${c.secret}.encoding: base64 to read binary data`
      : `is not a JSON object, but secrets.${c.secret}.json is true: store a JSON object or drop json: true to read it as key "value"`;
  return new AgentError('validation', `${at(c)}: the payload of secret "${shortName(c)}" (version ${c.version}) ${text}`, init(c));
}

/** a protobuf int64 as google-gax decodes it: a Long, a number or a decimal string */
function int64(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  const toNumber = (v as { toNumber?: unknown } | null | undefined)?.toNumber;
  return typeof toNumber === 'function' ? (toNumber.call(v) as number) : undefined;
}

/** google.rpc.RetryInfo.retry_delay in ms, when the error's details carry one */
export function retryDelayMs(statusDetails: unknown): number | undefined {
  if (!Array.isArray(statusDetails)) return undefined;
  for (const d of statusDetails) {
    const delay = (d as { retryDelay?: { seconds?: unknown; nanos?: unknown } } | null)?.retryDelay;
    if (!delay || typeof delay !== 'object') continue;
    const seconds = int64(delay.seconds ?? 0);
    const nanos = typeof delay.nanos === 'number' ? delay.nanos : 0;
    if (seconds === undefined || seconds < 0 || nanos < 0) return undefined;
    return seconds * 1000 + Math.ceil(nanos / 1e6);
  }
  return undefined;
}

export function mapGcpError(e: unknown, c: GcpCallContext): AgentError {
  if (e instanceof AgentError) return e;
  const o = (e ?? {}) as { code?: unknown; details?: unknown; message?: unknown; name?: unknown; statusDetails?: unknown };
  const code = typeof o.code === 'number' ? o.code : undefined;
  const text = `${typeof o.details === 'string' ? o.details : ''} ${typeof o.message === 'string' ? o.message : ''}`;
  const s = shortName(c);
  const cause = e;

  if (code === undefined) {
    if (o.name === 'AbortError') return new AgentError('timeout', `${at(c)}: request for secret "${s}" was aborted (init timeout or shutdown)`, init(c, cause));
    // google-auth-library, before any RPC is sent
    if (/default credentials|Could not load the default credentials|Unable to detect a Project Id/i.test(text)) {
      return new AgentError('auth', `${at(c)}: no Google credentials found: on GKE enable Workload Identity and annotate the pod's service account with iam.gke.io/gcp-service-account; elsewhere set GOOGLE_APPLICATION_CREDENTIALS to a credentials file`, init(c, cause));
    }
    return new AgentError('unavailable', `${at(c)}: request for secret "${s}" failed before reaching Secret Manager (${typeof o.name === 'string' ? o.name : 'Error'}); will retry`, { ...init(c, cause), retryable: true });
  }
  switch (code) {
    case CODE.NOT_FOUND:
      return new AgentError('missing', `${at(c)}: secret "${s}" version ${c.version} was not found in project ${c.project} (or the secret has no versions): check secrets.${c.secret}.name and .version (\`gcloud secrets versions list ${s} --project ${c.project}\`)`, init(c, cause));
    case CODE.FAILED_PRECONDITION: {
      const state = /\bDESTROYED\b/.test(text) ? 'DESTROYED' : /\bDISABLED\b/.test(text) ? 'DISABLED' : undefined;
      if (state) return versionNotUsable(c, state);
      return new AgentError('missing', `${at(c)}: Secret Manager refused to read secret "${s}" version ${c.version} in project ${c.project} (FAILED_PRECONDITION): check the version's state with \`gcloud secrets versions describe ${c.version} --secret ${s} --project ${c.project}\``, init(c, cause));
    }
    case CODE.PERMISSION_DENIED: {
      const role = c.permission === 'secretmanager.versions.access' ? 'roles/secretmanager.secretAccessor' : 'roles/secretmanager.viewer';
      return new AgentError('auth', `${at(c)}: permission denied: the identity needs ${c.permission} (${role}) on secret "${s}" in project ${c.project}`, init(c, cause));
    }
    case CODE.UNAUTHENTICATED:
      return new AgentError('auth', `${at(c)}: Secret Manager rejected the credentials (UNAUTHENTICATED): check Workload Identity (iam.gke.io/gcp-service-account on the pod's service account) or GOOGLE_APPLICATION_CREDENTIALS`, init(c, cause));
    case CODE.INVALID_ARGUMENT:
      return new AgentError('config', `${at(c)}: Secret Manager rejected the name of secret "${s}" version ${c.version} (INVALID_ARGUMENT): check secrets.${c.secret}.name and .version`, init(c, cause));
    case CODE.CANCELLED:
      return new AgentError('timeout', `${at(c)}: request for secret "${s}" was cancelled (init timeout or shutdown)`, init(c, cause));
    default: {
      const name = CODE_NAMES.get(code) ?? `code ${code}`;
      const reach = code === CODE.UNAVAILABLE ? ` at ${c.endpoint}` : '';
      const retryable = RETRYABLE.has(code) || code > 16;
      // AIP-193: RetryInfo may come with RESOURCE_EXHAUSTED and UNAVAILABLE alike; only the first says we ask too often
      const retryAfterMs = retryable ? retryDelayMs(o.statusDetails) : undefined;
      const notBefore = notBeforeText(retryAfterMs, 'retry delay');
      return new AgentError('unavailable', `${at(c)}: Secret Manager${reach} answered ${name} for secret "${s}" in project ${c.project}; will retry${notBefore}`, {
        ...init(c, cause),
        retryable,
        throttled: code === CODE.RESOURCE_EXHAUSTED,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
  }
}
