// Certificates for TLS distribution tests (openssl CLI): a CA, a node
// certificate valid for 127.0.0.1 / localhost / this host, a client
// certificate, and the -ssl_dist_optfile that makes the node require it.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface DistTlsFiles {
  caFile: string;
  nodeCertFile: string;
  nodeKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** a CA that signed nothing here: a client trusting only it must fail */
  otherCaFile: string;
  optFile: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

function ecKey(file: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', file]);
}

function selfSignedCa(dir: string, name: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  ecKey(key);
  openssl(['req', '-x509', '-new', '-key', key, '-subj', `/CN=${name}`, '-days', '2', '-out', cert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { cert, key };
}

function issue(dir: string, name: string, ca: { cert: string; key: string }, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  ecKey(key);
  writeFileSync(extFile, ext);
  openssl(['req', '-new', '-key', key, '-subj', `/CN=${name}`, '-out', csr]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2',
    '-out', cert, '-extfile', extFile]);
  return { cert, key };
}

/** Erlang string literal for a path (escape backslash and quote). */
function erlString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function makeDistTlsFiles(dir: string): DistTlsFiles {
  const ca = selfSignedCa(dir, 'dist-ca');
  const other = selfSignedCa(dir, 'other-ca');
  const host = os.hostname();
  const nodeCert = issue(dir, 'node', ca,
    `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${host}\n`);
  const clientCert = issue(dir, 'client', ca,
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=DNS:erlmcp-secrets\n');
  const optFile = join(dir, 'ssl_dist.conf');
  const common = `{certfile, ${erlString(nodeCert.cert)}}, {keyfile, ${erlString(nodeCert.key)}}, {cacertfile, ${erlString(ca.cert)}}, {verify, verify_peer}`;
  writeFileSync(optFile, `[{server, [${common}, {fail_if_no_peer_cert, true}]},\n {client, [${common}]}].\n`);
  return {
    caFile: ca.cert,
    nodeCertFile: nodeCert.cert,
    nodeKeyFile: nodeCert.key,
    clientCertFile: clientCert.cert,
    clientKeyFile: clientCert.key,
    otherCaFile: other.cert,
    optFile,
  };
}
