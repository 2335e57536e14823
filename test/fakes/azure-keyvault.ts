// A protocol-faithful Azure Key Vault (secrets, REST API 7.x / 2025-07-01)
// over real HTTPS on 127.0.0.1, written from the official REST reference
// because the lowkey-vault server jar is not published to Maven Central (only
// its client library is). What it keeps of the real service:
// - the bearer challenge: a request without a token gets 401 with
//   `WWW-Authenticate: Bearer authorization="…/TENANT", resource="https://vault.azure.net"`;
// - GET /secrets/{name}[/{version}] -> SecretBundle {value, id, contentType,
//   attributes{enabled, nbf, exp, created, updated, recoveryLevel}, tags};
// - the current version is the newest; a disabled one answers 403
//   Forbidden / innererror SecretDisabled, "Operation get is not allowed on a
//   disabled secret."; unknown names and versions answer 404 SecretNotFound;
//   deleted secrets are gone from GET; expired ones are still returned.
// Admin (set, disable, delete) is done through methods, not HTTP. Faults
// (403 AccessDenied, 429 Throttled, 5xx) are injected per secret name.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface FakeSecretVersion {
  id: string;
  value: string;
  contentType: string | undefined;
  enabled: boolean;
  /** unix seconds */
  exp: number | undefined;
  nbf: number | undefined;
  created: number;
}

export interface InjectedReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface AzureFake {
  /** https://localhost:PORT */
  vaultUrl: string;
  tenantId: string;
  /** authorized GET /secrets calls (billed operations), by secret name */
  gets: Map<string, number>;
  /** all authorized operations */
  operations(): number;
  /** 401 challenges answered */
  challenges(): number;
  /** bearer tokens seen */
  tokens: string[];
  resetCounts(): void;
  /** createdOn: the version's attributes.created and .updated (default now) */
  setSecret(name: string, value: string, opts?: { contentType?: string; enabled?: boolean; expiresOn?: Date; notBefore?: Date; createdOn?: Date }): string;
  setEnabled(name: string, version: string, enabled: boolean): void;
  deleteSecret(name: string): void;
  fail(name: string, reply: InjectedReply): void;
  clearFailures(): void;
  close(): Promise<void>;
}

export const ACCESS_DENIED_BODY = (vault: string) => ({
  error: {
    code: 'Forbidden',
    message: `The user, group or application 'appid=5e8b3a1c-0000-4000-8000-000000000001;oid=7f1d2e3c-0000-4000-8000-000000000002;iss=https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/' does not have secrets get permission on key vault '${vault};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
    innererror: { code: 'AccessDenied' },
  },
});
export const THROTTLED_BODY = { error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } };

export async function startAzureFake(tls: { certPem: string; keyPem: string }, opts: { tenantId?: string; resource?: string } = {}): Promise<AzureFake> {
  const tenantId = opts.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const resource = opts.resource ?? 'https://vault.azure.net';
  const secrets = new Map<string, FakeSecretVersion[]>();
  const gets = new Map<string, number>();
  let challengeCount = 0;
  const tokens: string[] = [];
  let failures = new Map<string, InjectedReply>();
  let vaultUrl = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-ms-keyvault-service-version': '1.9.2160.1', 'x-ms-request-id': randomBytes(8).toString('hex'), 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  const notFound = (res: ServerResponse, what: string) =>
    send(res, 404, { error: { code: 'SecretNotFound', message: `A secret with (name/id) ${what} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182` } });

  const bundle = (name: string, v: FakeSecretVersion) => ({
    value: v.value,
    ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
    id: `${vaultUrl}/secrets/${name}/${v.id}`,
    attributes: { enabled: v.enabled, ...(v.nbf !== undefined ? { nbf: v.nbf } : {}), ...(v.exp !== undefined ? { exp: v.exp } : {}), created: v.created, updated: v.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    tags: {},
  });

  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      if (!url.searchParams.get('api-version')) return send(res, 400, { error: { code: 'MissingApiVersionParameter', message: 'The api-version query parameter (?api-version=) is required for all requests.' } });
      const auth = req.headers.authorization ?? '';
      if (!/^Bearer \S+$/.test(auth)) {
        challengeCount++;
        return send(res, 401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
          'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${resource}"`,
        });
      }
      tokens.push(auth.slice('Bearer '.length));
      const m = /^\/secrets\/([0-9a-zA-Z-]+)(?:\/([0-9a-fA-F]*))?\/?$/.exec(url.pathname);
      if (req.method !== 'GET' || !m) return send(res, 400, { error: { code: 'BadParameter', message: 'Method or path not supported by this fake' } });
      const name = m[1]!;
      const version = m[2] || undefined;
      gets.set(name, (gets.get(name) ?? 0) + 1);
      const injected = failures.get(name);
      if (injected) return send(res, injected.status, injected.body, injected.headers);
      const versions = secrets.get(name);
      if (!versions || versions.length === 0) return notFound(res, name);
      const v = version === undefined ? versions.at(-1)! : versions.find((x) => x.id === version.toLowerCase());
      if (!v) return notFound(res, `${name}/${version}`);
      if (!v.enabled) return send(res, 403, { error: { code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } } });
      send(res, 200, bundle(name, v));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  vaultUrl = `https://localhost:${typeof addr === 'object' && addr ? addr.port : 0}`;

  return {
    vaultUrl,
    tenantId,
    gets,
    operations: () => [...gets.values()].reduce((a, b) => a + b, 0),
    challenges: () => challengeCount,
    tokens,
    resetCounts: () => {
      gets.clear();
      challengeCount = 0;
      tokens.length = 0;
    },
    setSecret(name, value, o = {}) {
      const id = randomBytes(16).toString('hex');
      const list = secrets.get(name) ?? [];
      list.push({
        id,
        value,
        contentType: o.contentType,
        enabled: o.enabled ?? true,
        exp: o.expiresOn ? Math.floor(o.expiresOn.getTime() / 1000) : undefined,
        nbf: o.notBefore ? Math.floor(o.notBefore.getTime() / 1000) : undefined,
        created: Math.floor((o.createdOn?.getTime() ?? Date.now()) / 1000),
      });
      secrets.set(name, list);
      return id;
    },
    setEnabled(name, version, enabled) {
      const v = secrets.get(name)?.find((x) => x.id === version);
      if (!v) throw new Error(`fake: no version ${version} of ${name}`);
      v.enabled = enabled;
    },
    deleteSecret: (name) => void secrets.delete(name),
    fail: (name, reply) => void failures.set(name, reply),
    clearFailures: () => void (failures = new Map()),
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
