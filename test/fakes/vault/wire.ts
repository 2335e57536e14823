// Vault's wire shapes: the response envelope, error bodies, and the Go-style
// duration strings Vault puts in warnings.

import { randomUUID } from 'node:crypto';

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Envelope {
  request_id: string;
  lease_id: string;
  renewable: boolean;
  lease_duration: number;
  data: unknown;
  wrap_info: null;
  warnings: string[] | null;
  auth: unknown;
  mount_type: string;
}

/** every successful JSON body from Vault carries this envelope */
export function envelope(fields: Partial<Envelope>): Envelope {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: '',
    ...fields,
  };
}

export function ok(fields: Partial<Envelope>): FakeResponse {
  return { status: 200, body: envelope(fields) };
}

export const NO_CONTENT: FakeResponse = { status: 204 };

export function errors(status: number, ...messages: string[]): FakeResponse {
  return { status, body: { errors: messages } };
}

/** Vault's ACL failure wraps the message in a go-multierror rendering */
export const ACL_DENIED = '1 error occurred:\n\t* permission denied\n\n';
export const UNSUPPORTED_OPERATION = '1 error occurred:\n\t* unsupported operation\n\n';

export function permissionDenied(): FakeResponse {
  return errors(403, ACL_DENIED);
}

/** a token that is missing, expired or revoked */
export function invalidToken(): FakeResponse {
  return errors(403, 'permission denied');
}

export function badRequest(message: string): FakeResponse {
  return errors(400, message);
}

export function notFound(): FakeResponse {
  return errors(404);
}

export function unsupported(): FakeResponse {
  return errors(405, UNSUPPORTED_OPERATION);
}

export function noHandler(path: string): FakeResponse {
  return errors(404, `no handler for route "${path}". route entry not found.`);
}

/** Go's time.Duration.String() for whole seconds: 3600 -> "1h0m0s" */
export function goDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}

export function cappedWarning(requestedSeconds: number, effectiveMaxSeconds: number): string {
  return `TTL of "${goDuration(requestedSeconds)}" exceeded the effective max_ttl of "${goDuration(effectiveMaxSeconds)}"; TTL value is capped accordingly`;
}

/** Vault accepts TTLs as seconds or Go duration strings ("1h", "90s") */
export function parseTtl(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
  if (typeof v !== 'string') return undefined;
  if (/^\d+$/.test(v)) return Number(v);
  const re = /(\d+)(h|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
    consumed = re.lastIndex;
  }
  return consumed === v.length && consumed > 0 ? total : undefined;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
