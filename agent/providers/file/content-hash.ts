// A secret's version for a backend that has none: a hash of its content, so
// that "did it change?" is a string comparison. Versions show up in logs and
// audit lines, and a plain sha256 of a 6-digit PIN is brute-forced in a
// blink, so the hash is keyed with a random per-process key: equal content
// gives equal versions within one agent process, which is all change
// detection needs, and the version says nothing about the value.

// node:crypto is loaded on first use: commands and configs without a file
// provider never pay for it at start-up.
let processKey: Buffer | undefined;

/** 12 hex digits of HMAC-SHA256 over the sorted key/value pairs */
export function contentVersion(data: Record<string, string>): string {
  const entries = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const crypto = process.getBuiltinModule('node:crypto');
  processKey ??= crypto.randomBytes(32);
  return crypto.createHmac('sha256', processKey).update(JSON.stringify(entries)).digest('hex').slice(0, 12);
}
