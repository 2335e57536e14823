// How much the agent reads, at most, from each kind of file it is pointed
// at (agent/files/bounded-read.ts enforces them). Each is far above anything
// genuine and far below what would hurt a sidecar with a small memory limit.

const KiB = 1024;
const MiB = 1024 * KiB;

export const READ_LIMITS = {
  /** the agent config: a ConfigMap holds at most 1 MiB; no config comes near it */
  config: 1 * MiB,
  /** a template source: mounted from a ConfigMap like the config */
  templateSource: 1 * MiB,
  /** an Erlang distribution cookie: an atom, so at most 255 characters; the
   * rest is room for a trailing newline and odd editors */
  cookie: 4 * KiB,
  /** a Vault credential (token, role_id, secret_id, a Kubernetes service
   * account JWT of 1-2 KiB): one word */
  credential: 64 * KiB,
  /** a PEM certificate, key or CA bundle: Debian's whole system CA bundle is
   * about 220 KiB */
  tls: 4 * MiB,
  /** a file-provider secret: Kubernetes caps a Secret at 1 MiB; anything far
   * beyond is a wrong path, not a secret */
  secretFile: 8 * MiB,
} as const;
