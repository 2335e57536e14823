// Cert auth's client certificate and key, checked before they go into a TLS
// handshake: a key that is not the certificate's, a file that holds no PEM,
// or an expired certificate would otherwise fail as a handshake error or a
// bare "invalid certificate" from Vault, and be retried as if Vault were down.

import type { X509Certificate } from 'node:crypto';

/** undefined when the pair is usable; else a message naming the files (certFile, keyFile absolute) */
export function checkClientCert(certPem: string, keyPem: string, now = Date.now()): ((certFile: string, keyFile: string) => string) | undefined {
  // node:crypto on first use: only cert logins come here, and every other
  // config's init would pay ~10 ms to load it at start-up
  const { X509Certificate, createPrivateKey } = process.getBuiltinModule('node:crypto');
  if (!certPem.includes('-----BEGIN CERTIFICATE-----')) return (c) => `auth.certFile ${c} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return (c) => `auth.certFile ${c} holds a PEM block that is not a valid X.509 certificate`;
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    // never the parser's text: it may quote the key
    return (_c, k) => `auth.keyFile ${k} holds no unencrypted PEM private key`;
  }
  if (!cert.checkPrivateKey(key)) return (c, k) => `auth.keyFile ${k} is not the private key of the certificate in auth.certFile ${c}; put the key that belongs to it in the file`;
  const notAfter = Date.parse(cert.validTo);
  if (Number.isFinite(notAfter) && notAfter <= now) return (c) => `the certificate in auth.certFile ${c} expired at ${new Date(notAfter).toISOString()}; put a current one in the file`;
  return undefined;
}
