// Real X.509 certificates for tests, made with the openssl CLI (the Debian
// `openssl` package) from EC keys that node:crypto generates.

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

export function ecKeyPair(): KeyPairPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface CertOptions {
  /** validity from now, in days (openssl -days) */
  days: number;
  cn?: string;
  /** the whole subject, e.g. "/O=system:masters/CN=admin" (wins over cn) */
  subject?: string;
  /** X.509v3 extensions as openssl -addext takes them, e.g. "subjectAltName=IP:127.0.0.1" */
  extensions?: string[];
  /** sign with this CA instead of self-signing */
  issuer?: { certPem: string; keyPem: string };
  key?: KeyPairPem;
}

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

export function makeCertificate(opts: CertOptions): IssuedCert {
  const key = opts.key ?? ecKeyPair();
  const dir = mkdtempSync(join(tmpdir(), 'erlmcp-certs-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    writeFileSync(keyFile, key.privateKeyPem, { mode: 0o600 });
    const subj = opts.subject ?? `/CN=${opts.cn ?? 'erlmcp-test'}`;
    const addext = (opts.extensions ?? []).flatMap((e) => ['-addext', e]);
    if (!opts.issuer) {
      execFileSync('openssl', ['req', '-x509', '-new', '-key', keyFile, '-subj', subj, ...addext, '-days', String(opts.days), '-out', certFile], { stdio: 'pipe' });
    } else {
      const csrFile = join(dir, 'req.csr');
      const caCert = join(dir, 'ca.pem');
      const caKey = join(dir, 'ca.key');
      writeFileSync(caCert, opts.issuer.certPem);
      writeFileSync(caKey, opts.issuer.keyPem, { mode: 0o600 });
      execFileSync('openssl', ['req', '-new', '-key', keyFile, '-subj', subj, ...addext, '-out', csrFile], { stdio: 'pipe' });
      // the request's extensions (SANs, key usages) go into the certificate only when asked
      const copy = addext.length ? ['-copy_extensions', 'copyall'] : [];
      execFileSync('openssl', ['x509', '-req', '-in', csrFile, '-CA', caCert, '-CAkey', caKey, '-set_serial', '2', ...copy, '-days', String(opts.days), '-out', certFile], { stdio: 'pipe' });
    }
    return { certPem: readFileSync(certFile, 'utf8'), keyPem: key.privateKeyPem };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
