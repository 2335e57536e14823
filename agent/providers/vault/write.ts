// What a write that issues (pki/issue/ROLE) answered, as a SecretValue. Pure.
//
//   issuedValue(body, opts) -> SecretValue | undefined (no data object)
//
// The keys templates see are the answer's `data` (certificate, private_key,
// issuing_ca, ca_chain, serial_number, expiration, ...). A list of strings
// (ca_chain: one PEM per item) becomes its items joined by newlines, so it
// renders as a PEM bundle; anything else follows key-map.ts.
//
// An issued certificate has no lease to renew: it is issued again after a
// fraction of its lifetime, NotBefore to NotAfter of the leaf certificate.
// Without a certificate the answer's lease_duration is the lifetime; with
// neither, there is nothing to time a re-issue by and the value is kept
// until the agent restarts.
//
// What was issued is checked with the rules a config would write for it
// (pem-certificate, pem-private-key matching the certificate), whatever the
// config's own `require` says: a PKI that hands out a key for another
// certificate, or an expired certificate, is refused like any bad value.

import { AgentError } from '../../errors.ts';
import type { Rule } from '../../config/rules-schema.ts';
import { parseCertificateChain } from '../../validate/pem-certificate.ts';
import { validateSecret } from '../../validate/index.ts';
import { leaseSeconds } from '../backend-numbers.ts';
import type { IssuedWindow, SecretValue } from '../provider.ts';
import { toSecretValue } from './response.ts';

/** re-issue at this fraction of the lifetime unless the secret says otherwise */
export const DEFAULT_REISSUE_FRACTION = 2 / 3;

/** an issue answer's values in all: a certificate, its key and a chain of
 * intermediates are a few KB; past this it is not an issued certificate, and
 * parsing it as a chain of them would cost CPU for nothing */
export const MAX_ISSUED_BYTES = 1024 * 1024;

/** keys of a PKI answer that are public: they are not registered as secret
 * values, so logs may show a serial number */
export const PUBLIC_ISSUED_KEYS: ReadonlySet<string> = new Set(['serial_number', 'expiration', 'not_before', 'private_key_type']);

export interface IssuedOptions {
  /** the secret's name: messages, and the matchesCertificate reference */
  secret: string;
  now: number;
  fraction: number;
  /** names the answer in errors, e.g. `vault pki/issue/erlmcp (secrets.tls)` */
  what: string;
  onProblem?: (problem: string) => void;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** lists of strings as newline-joined text; everything else untouched */
function joinStringLists(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.join('\n') : v;
  return out;
}

/** the rules that always hold for an issued certificate and key */
function issuedRules(secret: string, data: Record<string, string>): Record<string, Rule> {
  const rules: Record<string, Rule> = { certificate: { format: 'pem-certificate' } };
  if (Object.hasOwn(data, 'private_key')) rules.private_key = { format: 'pem-private-key', matchesCertificate: `${secret}.certificate` };
  for (const ca of ['issuing_ca', 'ca_chain']) if (Object.hasOwn(data, ca)) rules[ca] = { format: 'pem-certificate', optional: true };
  return rules;
}

function lifetime(data: Record<string, string>, body: Record<string, unknown>, opts: IssuedOptions): IssuedWindow | undefined {
  const cert = data.certificate;
  if (cert !== undefined) {
    const chain = parseCertificateChain(cert);
    // validated before this is reached: the leaf parses
    const leaf = chain.ok ? chain.certs[0] : undefined;
    if (leaf) return { from: leaf.validFromDate.getTime(), until: leaf.validToDate.getTime(), fraction: opts.fraction, basis: 'certificate' };
  }
  if (typeof body.lease_duration === 'number' && body.lease_duration > 0) {
    const ttl = leaseSeconds(body.lease_duration);
    if (ttl.problem) opts.onProblem?.(`lease_duration ${ttl.problem}`);
    return { from: opts.now, until: opts.now + ttl.seconds * 1000, fraction: opts.fraction, basis: 'lease_duration' };
  }
  return undefined;
}

export function issuedValue(body: unknown, opts: IssuedOptions): SecretValue | undefined {
  if (!isObject(body) || !isObject(body.data)) return undefined;
  const value = toSecretValue({ ...body, data: joinStringLists(body.data) }, opts.now, opts.what, opts.onProblem);
  if (!value) return undefined;
  const bytes = Object.values(value.data).reduce((n, v) => n + Buffer.byteLength(v), 0);
  if (bytes > MAX_ISSUED_BYTES) {
    throw new AgentError('validation', `${opts.what} answered with ${bytes} bytes of values, more than the ${MAX_ISSUED_BYTES} any issued certificate needs: refused (the wrong path, or not a PKI)`, { where: `secrets.${opts.secret}` });
  }
  if (Object.hasOwn(value.data, 'certificate') || Object.hasOwn(value.data, 'private_key')) {
    const rules = issuedRules(opts.secret, value.data);
    const problems = validateSecret(opts.secret, rules, value.data, {
      lookup: (s, k) => (s === opts.secret && Object.hasOwn(value.data, k) ? value.data[k] : undefined),
      now: () => opts.now,
    });
    if (problems.length) {
      throw new AgentError('validation', `${opts.what} issued a value that is not a usable certificate and key: ${problems.map((p) => p.message).join('; ')}`, {
        problems: problems.map((p) => p.message),
        where: `secrets.${opts.secret}`,
      });
    }
  }
  const window = lifetime(value.data, body, opts);
  return window ? { ...value, issued: window } : value;
}

/** the values to register for log scrubbing: all but the public keys of a PKI answer */
export function secretPartOf(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (!PUBLIC_ISSUED_KEYS.has(k)) out[k] = v;
  return out;
}

/** `common_name, ttl`: the parameters a write sends, by name only, for logs */
export function describeWrite(write: Record<string, unknown>): string {
  const keys = Object.keys(write);
  return keys.length ? keys.join(', ') : 'no parameters';
}
