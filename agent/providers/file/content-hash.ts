// A secret's version for a backend that has none: a hash of its content, so
// that "did it change?" is a string comparison, and so that two pods (or an
// init container and its sidecar) reading the same content log the same
// version in their audit lines and can be compared.
//
// The trade-off, decided on purpose: a version that is the same in every
// process cannot be keyed by anything secret that all those processes share
// (they share nothing but the value), so anyone who reads the logs and can
// enumerate the candidates of a value can confirm a guess. For a random
// token, key or generated password (what erlmcp's secrets are) that is
// hopeless: 48 bits of a domain-separated SHA-256 say nothing about a value
// with more entropy than that. For a PIN or a dictionary word it is not, so
// such values deserve a `minLength`/`pattern` rule, and the README says so.
// The earlier per-process random key hid even those, but made versions
// useless for comparing pods.

// node:crypto is loaded on first use: commands and configs without a file
// provider never pay for it at start-up.

/** fixed label: the same content hashed for another purpose gives another digest */
const DOMAIN = 'erlmcp-secrets/file-provider/content-version/v1\0';

/** 12 hex digits (48 bits) of SHA-256 over a domain label and the sorted key/value pairs */
export function contentVersion(data: Record<string, string>): string {
  const entries = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const crypto = process.getBuiltinModule('node:crypto');
  return crypto.createHash('sha256').update(DOMAIN).update(JSON.stringify(entries)).digest('hex').slice(0, 12);
}
