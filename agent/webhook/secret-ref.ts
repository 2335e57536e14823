// "vault:secret/data/database/erlmcp" -> which provider and the secret's
// provider-specific fields (vault `path`, aws `id`, azure/gcp `name`, file `path`).

import { shown, type Parsed } from './annotation-values.ts';

export const BUILTIN_PROVIDERS = ['vault', 'aws', 'azure', 'gcp', 'file'] as const;
export type BuiltinProvider = (typeof BUILTIN_PROVIDERS)[number];

export interface SecretRefAnnotation {
  /** provider name in the generated config */
  provider: string;
  /** provider type (vault, aws, azure, gcp, file) */
  type: string;
  /** fields of the secret besides provider/require */
  spec: Record<string, unknown>;
  /** file refs bring their own provider block */
  providerBlock?: Record<string, unknown>;
}

const AZURE_NAME = /^[0-9A-Za-z-]{1,127}$/;
const GCP_SHORT = /^[A-Za-z0-9_-]{1,255}$/;
const GCP_RESOURCE = /^projects\/[^/\s]+\/secrets\/[A-Za-z0-9_-]{1,255}(\/versions\/[^/\s]+)?$/;

/**
 * @param inlineProviders providers declared in secrets.erlmcp.io/config, name -> type;
 *   a ref may name one of them ("myvault:secret/data/x") instead of a built-in.
 */
export function parseSecretRef(value: string, secretName: string, inlineProviders: Record<string, string>): Parsed<SecretRefAnnotation> {
  const colon = value.indexOf(':');
  const example = 'e.g. "vault:secret/data/database/erlmcp", "aws:erlmcp/api-key", "azure:erlmcp-db-password", "gcp:erlmcp-db-password"';
  if (colon <= 0) return { ok: false, problem: `must be PROVIDER:REFERENCE, ${example}; got ${shown(value)}` };
  const provider = value.slice(0, colon).trim();
  const ref = value.slice(colon + 1).trim();
  if (ref === '') return { ok: false, problem: `names no secret after "${provider}:"` };
  if (/\s/.test(ref)) return { ok: false, problem: `the reference after "${provider}:" must not contain whitespace` };
  const type = (Object.hasOwn(inlineProviders, provider) ? inlineProviders[provider] : undefined) ?? ((BUILTIN_PROVIDERS as readonly string[]).includes(provider) ? provider : undefined);
  if (type === undefined) {
    const known = [...new Set([...BUILTIN_PROVIDERS, ...Object.keys(inlineProviders)])].join(', ');
    return { ok: false, problem: `unknown provider "${provider}" (known: ${known}; others can be declared in secrets.erlmcp.io/config)` };
  }
  switch (type) {
    case 'vault': {
      const path = ref.replace(/^\/+/, '');
      if (path.split('/').some((s) => s === '' || s === '.' || s === '..')) {
        return { ok: false, problem: `Vault path ${shown(ref)} has an empty, "." or ".." segment` };
      }
      return { ok: true, value: { provider, type, spec: { path } } };
    }
    case 'aws':
      if (ref.length > 2048) return { ok: false, problem: 'the AWS secret id is longer than 2048 characters' };
      return { ok: true, value: { provider, type, spec: { id: ref } } };
    case 'azure': {
      const [name, version, extra] = ref.split('/');
      if (extra !== undefined || !AZURE_NAME.test(name ?? '') || version === '') {
        return { ok: false, problem: `an Azure Key Vault secret is NAME or NAME/VERSION with letters, digits and "-" (1-127), got ${shown(ref)}` };
      }
      return { ok: true, value: { provider, type, spec: version === undefined ? { name } : { name, version } } };
    }
    case 'gcp': {
      if (GCP_SHORT.test(ref)) return { ok: true, value: { provider, type, spec: { name: ref } } };
      const m = GCP_RESOURCE.exec(ref);
      if (!m) return { ok: false, problem: `a GCP secret is NAME or projects/P/secrets/S[/versions/V], got ${shown(ref)}` };
      const version = m[1]?.slice('/versions/'.length);
      const name = m[1] === undefined ? ref : ref.slice(0, -m[1].length);
      return { ok: true, value: { provider, type, spec: version === undefined ? { name } : { name, version } } };
    }
    case 'file': {
      if (provider !== 'file') return { ok: true, value: { provider, type, spec: { path: ref } } };
      // file:/dir/entry -> a provider on /dir reading entry (a mounted Secret's
      // directory, or entry.json/.yaml/.env). Each such secret gets its own provider.
      if (!ref.startsWith('/') || ref.split('/').slice(1).some((x) => x === '' || x === '.' || x === '..')) {
        return { ok: false, problem: `file: needs an absolute path without empty, "." or ".." segments, e.g. "file:/etc/erlmcp/secrets/db", got ${shown(ref)}` };
      }
      const cut = ref.lastIndexOf('/');
      const dir = cut === 0 ? '/' : ref.slice(0, cut);
      return { ok: true, value: { provider: `file-${secretName}`, type, spec: { path: ref.slice(cut + 1) }, providerBlock: { type: 'file', path: dir } } };
    }
    default:
      // a provider type we do not know the fields of: hand the reference over as `path`
      return { ok: true, value: { provider, type, spec: { path: ref } } };
  }
}
