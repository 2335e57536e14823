// pem-certificate: one certificate or a chain (leaf first, as servers send
// it). Every certificate must parse and be valid now (a NotBefore up to
// NOT_BEFORE_SKEW_MS in the future counts as valid: see there); with
// expiresInMoreThanDays each must stay valid that much longer. A
// certificate's dates are public (anyone who connects sees them), so messages
// show them; nothing else from the certificate is echoed.

import type { X509Certificate } from 'node:crypto';
import type { Rule } from '../config/rules-schema.ts';
import { finding, type Finding } from './problem.ts';

const DAY_MS = 86_400_000;
/** a NotBefore this far ahead of our clock is the issuer's clock running
 * ahead, not a certificate for later: Vault's PKI backdates NotBefore by
 * only its role's not_before_duration (30 s by default, often 0), so a PKI a
 * minute ahead would otherwise have every certificate it issues refused, on
 * every retry, until the last good one expires */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000;
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export type ParsedChain = { ok: true; certs: X509Certificate[] } | { ok: false; text: string };

/** the certificates in a PEM value, or why there are none usable */
export function parseCertificateChain(value: string): ParsedChain {
  const blocks = value.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) {
    const hint = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value) ? ' (it holds a private key)' : '';
    return { ok: false, text: `not a PEM certificate: no BEGIN CERTIFICATE block${hint}` };
  }
  // loaded on first use: only configs with PEM rules pay for node:crypto at start-up
  const { X509Certificate } = process.getBuiltinModule('node:crypto');
  const certs: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      return { ok: false, text: `not a PEM certificate: ${ordinal(i, blocks.length)}does not parse as X.509` };
    }
  }
  return { ok: true, certs };
}

export function checkCertificate(value: string, rule: Rule, now: number): Finding[] {
  const chain = parseCertificateChain(value);
  if (!chain.ok) return [finding('format', chain.text)];
  const found: Finding[] = [];
  for (const [i, cert] of chain.certs.entries()) {
    const which = ordinal(i, chain.certs.length);
    const from = cert.validFromDate.getTime();
    const to = cert.validToDate.getTime();
    if (now + NOT_BEFORE_SKEW_MS < from) {
      found.push(finding('format', `${which}is not valid until ${isoDate(from)}`));
    } else if (now > to) {
      found.push(finding('format', `${which}expired on ${isoDate(to)}`));
    } else if (rule.expiresInMoreThanDays !== undefined && to - now < rule.expiresInMoreThanDays * DAY_MS) {
      found.push(finding('expiresInMoreThanDays',
        `${which}expires in ${daysLeft(to - now)} (${isoDate(to)}), less than the required ${rule.expiresInMoreThanDays}`));
    }
  }
  return found;
}

/** "certificate 2 of 3 " for chains; nothing for a lone certificate */
function ordinal(index: number, count: number): string {
  return count === 1 ? '' : `certificate ${index + 1} of ${count} `;
}

function daysLeft(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  if (days === 0) return 'less than a day';
  return days === 1 ? '1 day' : `${days} days`;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
