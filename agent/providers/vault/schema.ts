// The vault provider's config and secret fields. Kept light (zod only, no
// node-vault) because config loading imports it for every configured type.
// Only defaults, no transforms: the provider re-checks its settings and
// parsing twice must give the same result.

import * as z from 'zod/mini';
import '../../config/zod-setup.ts';
import { parseDuration } from '../../config/duration.ts';
import { reissueFractionSchema, writeMapSchema } from './write-schema.ts';

const file = () => z.string().check(z.minLength(1, 'must name a file'));

const tokenAuthSchema = z.strictObject({
  method: z.literal('token'),
  /** file holding a Vault token (e.g. written by vault agent or mounted from a Secret) */
  tokenFile: file(),
});

const kubernetesAuthSchema = z.strictObject({
  method: z.literal('kubernetes'),
  role: z.string().check(z.minLength(1, 'names the role of the Vault kubernetes auth method')),
  /** the auth mount: auth/<mount>/login */
  mount: z._default(z.string().check(z.minLength(1)), 'kubernetes'),
  jwtFile: z._default(file(), '/var/run/secrets/kubernetes.io/serviceaccount/token'),
});

const approleAuthSchema = z.strictObject({
  method: z.literal('approle'),
  mount: z._default(z.string().check(z.minLength(1)), 'approle'),
  roleIdFile: file(),
  secretIdFile: file(),
});

/** how often a jwt or cert credential file is checked for a replacement: seconds, or a duration like "10s" */
const checkInterval = () =>
  z.optional(z.union([z.number().check(z.positive()), z.string().check(z.refine((t) => (parseDuration(t) ?? 0) > 0, 'must be a duration like 10s or 1m'))]));

const jwtAuthSchema = z.strictObject({
  method: z.literal('jwt'),
  role: z.string().check(z.minLength(1, 'names the role of the Vault jwt auth method')),
  /** the auth mount: auth/<mount>/login */
  mount: z._default(z.string().check(z.minLength(1)), 'jwt'),
  /** a JWT, typically a Kubernetes projected service account token with Vault's audience */
  jwtFile: file(),
  checkInterval: checkInterval(),
});

const certAuthSchema = z.strictObject({
  method: z.literal('cert'),
  /** the auth mount: auth/<mount>/login */
  mount: z._default(z.string().check(z.minLength(1)), 'cert'),
  /** PEM client certificate presented in the TLS handshake of the login call */
  certFile: file(),
  /** its PEM private key */
  keyFile: file(),
  /** the cert role to log in as; without it Vault tries every role of the mount */
  name: z.optional(z.string().check(z.minLength(1))),
  checkInterval: checkInterval(),
});

export const authSchema = z.discriminatedUnion('method', [tokenAuthSchema, kubernetesAuthSchema, approleAuthSchema, jwtAuthSchema, certAuthSchema], {
  error: (issue) => (issue.code === 'invalid_union' ? 'must be one of token, kubernetes, approle, jwt, cert' : undefined),
});

export const tlsSchema = z.strictObject({
  /** PEM bundle of the CA(s) that signed Vault's certificate; replaces the system roots */
  caFile: z.optional(file()),
  /** the name to verify in Vault's certificate (and send as SNI), when it differs from the address host */
  serverName: z.optional(z.string().check(z.minLength(1))),
  /** never verify Vault's certificate: for local experiments only */
  insecureSkipVerify: z._default(z.boolean(), false),
});

export const providerConfigSchema = z.strictObject({
  type: z.literal('vault'),
  address: z
    .string()
    .check(
      z.refine((s) => /^https?:\/\/[^/\s]+/.test(s) && URL.canParse(s), 'address must be an http:// or https:// URL, e.g. https://vault.vault.svc:8200'),
      // a user:password@ would be dropped silently (Vault reads a token, not
      // Basic auth) and would sit in every message that names the address
      z.refine(
        (s) => !URL.canParse(s) || (!/^[a-z]+:\/\/[^/?#]*@/i.test(s) && new URL(s).username === '' && new URL(s).password === ''),
        'address must not carry a user name or password (user:password@): Vault does not read them; give the credential through auth (e.g. auth.method token with tokenFile) instead',
      ),
      z.refine(
        (s) => !URL.canParse(s) || (new URL(s).search === '' && new URL(s).hash === '' && !/[?#]/.test(s)),
        'address must not have a query (?...) or fragment (#...): give only scheme, host and port, e.g. https://vault.vault.svc:8200',
      ),
    ),
  /** Vault Enterprise namespace, sent as X-Vault-Namespace */
  namespace: z.optional(z.string()),
  tls: z.optional(tlsSchema),
  auth: authSchema,
  /** per-request timeout: seconds, or a duration like "10s"; default 30s */
  timeout: z.optional(
    z.union([z.number().check(z.positive()), z.string().check(z.refine((t) => (parseDuration(t) ?? 0) > 0, 'must be a duration like 10s or 1m'))]),
  ),
}).check(
  // the client certificate travels in the TLS handshake: over http:// there is none
  z.refine((c) => c.auth.method !== 'cert' || c.address.startsWith('https://'), {
    message: 'auth.method cert presents a TLS client certificate, so address must be an https:// URL',
    path: ['address'],
  }),
);

export const secretSpecSchema = z.strictObject({
  /** the API path below /v1/: secret/data/x for KV v2, kv/x for KV v1, database/creds/role */
  path: z
    .string()
    .check(
      z.minLength(1),
      z.refine((p) => !p.startsWith('/') && !p.startsWith('v1/'), 'path is the API path without a leading "/" or "v1/", e.g. secret/data/app'),
      z.refine((p) => !p.includes('?') && !p.includes('//') && !p.endsWith('/'), 'path must not contain "?" or empty segments, nor end with "/"'),
    ),
  /** KV v2 only: pin a version instead of reading the latest */
  version: z.optional(z.int().check(z.positive())),
  /** issue on write: POST this map as the JSON body (pki/issue/ROLE); write.ts */
  write: z.optional(writeMapSchema),
  /** with write: issue again after this fraction of the certificate's lifetime (default 2/3) */
  reissueFraction: z.optional(reissueFractionSchema),
}).check(
  z.refine((s) => s.write === undefined || s.version === undefined, { path: ['version'], message: 'a written secret is issued anew, it has no versions: remove version or write' }),
  z.refine((s) => s.write !== undefined || s.reissueFraction === undefined, { path: ['reissueFraction'], message: 'only for a secret with write: (one issued on write)' }),
);

export type VaultProviderConfig = z.infer<typeof providerConfigSchema>;
export type VaultAuthConfig = z.infer<typeof authSchema>;
export type VaultSecretSpec = z.infer<typeof secretSpecSchema>;
