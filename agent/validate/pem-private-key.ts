// pem-private-key and matchesCertificate. crypto's own error messages are not
// passed on; the checks below recognise the common mistakes by their PEM
// headers (which carry no secret): an encrypted key, a certificate or public
// key pasted where the private key belongs.

import type { KeyObject } from 'node:crypto';
import { finding, type Finding } from './problem.ts';
import { parseCertificateChain } from './pem-certificate.ts';

export type ParsedKey = { ok: true; key: KeyObject } | { ok: false; text: string };

const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/;

export function parsePrivateKey(value: string): ParsedKey {
  if (ENCRYPTED.test(value)) return { ok: false, text: encryptedText };
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(value)) {
    const holds = /-----BEGIN CERTIFICATE-----/.test(value) ? ' (it holds a certificate)'
      : /-----BEGIN [A-Z ]*PUBLIC KEY-----/.test(value) ? ' (it holds a public key)' : '';
    return { ok: false, text: `not a PEM private key: no BEGIN PRIVATE KEY block${holds}` };
  }
  try {
    // loaded on first use: only configs with PEM rules pay for node:crypto at start-up
    return { ok: true, key: process.getBuiltinModule('node:crypto').createPrivateKey({ key: value, format: 'pem' }) };
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_MISSING_PASSPHRASE') return { ok: false, text: encryptedText };
    return { ok: false, text: 'not a PEM private key: the PRIVATE KEY block does not parse' };
  }
}

const encryptedText =
  'is an encrypted (passphrase-protected) private key, which the agent cannot use; store it decrypted (openssl pkey -in key.pem -out plain.pem)';

export function checkPrivateKey(value: string): Finding[] {
  const parsed = parsePrivateKey(value);
  return parsed.ok ? [] : [finding('format', parsed.text)];
}

/**
 * The private key belongs to the first (leaf) certificate of `certValue`:
 * its public key is the certificate's. `certRef` ("tls.crt") names the
 * certificate in messages; `certValue` undefined means it does not exist.
 */
export function checkMatchesCertificate(key: KeyObject, certRef: string, certValue: string | undefined): Finding[] {
  if (certValue === undefined) {
    return [finding('matchesCertificate', `matchesCertificate names ${certRef}, which does not exist`)];
  }
  const chain = parseCertificateChain(certValue);
  if (!chain.ok) {
    return [finding('matchesCertificate', `cannot check matchesCertificate: ${certRef} is ${chain.text}`)];
  }
  const leaf = chain.certs[0];
  if (leaf === undefined || !leaf.checkPrivateKey(key)) {
    return [finding('matchesCertificate', `does not match the certificate in ${certRef} (their public keys differ)`)];
  }
  return [];
}
