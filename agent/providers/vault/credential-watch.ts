// Has a login credential file been replaced since the login that used it?
// Kubernetes rotates a projected service account token, and cert-manager or
// an operator replaces a client certificate, by swapping files in place:
// the token Vault gave us stays valid, but the identity behind it has moved
// on, so the provider logs in again. Polled, not watched: kubelet's atomic
// symlink swap is reliably seen by stat and missed by some inotify set-ups.
// A poll costs one stat per file; the files are read (bounded) only when a
// stat changed, and a content hash decides, so a touch is not a new login.

import { stat } from 'node:fs/promises';
import { readBounded } from '../../files/bounded-read.ts';

/** one digest over the credential texts a login used, as the login read them (trimmed) */
export function credentialHash(texts: readonly string[]): string {
  // node:crypto on first use: only jwt and cert logins hash, and a token
  // login's init would pay ~10 ms to load it at start-up
  const h = process.getBuiltinModule('node:crypto').createHash('sha256').update('erlmcp-secrets/vault-login-credential/v1\0');
  for (const t of texts) h.update(t.trim()).update('\0');
  return h.digest('hex');
}

export class CredentialWatch {
  readonly #files: readonly string[];
  readonly #limit: number;
  #lastStat: string | undefined;

  /** absolute paths, in the order the login reads them; limit: the bounded read's */
  constructor(files: readonly string[], limit: number) {
    this.#files = files;
    this.#limit = limit;
  }

  /** true when a file changed since the last poll and now holds other content
   * than `loginHash` was made of. A file that cannot be read counts as not
   * replaced: the login that follows a real expiry will say what is wrong. */
  async replaced(loginHash: string): Promise<boolean> {
    let key: string;
    try {
      const stats = await Promise.all(this.#files.map((f) => stat(f)));
      key = stats.map((s) => `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`).join('|');
    } catch {
      return false;
    }
    if (key === this.#lastStat) return false;
    this.#lastStat = key;
    try {
      const texts = await Promise.all(this.#files.map(async (f) => (await readBounded(f, this.#limit)).toString('utf8')));
      return credentialHash(texts) !== loginHash;
    } catch {
      return false;
    }
  }
}
