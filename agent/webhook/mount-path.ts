// Where the secrets volume may be mounted. A mount over /proc, /sys or /dev
// hides what the kernel and the runtime put there (the container breaks or is
// refused by the runtime); one over the service-account token directory, or a
// parent of it, hides the token the app and Vault's kubernetes auth read; one
// over the webhook's own directories clashes with its other volumes.

import { BIN_DIR, TLS_DIR, TOKEN_DIR } from './pod-types.ts';

const SA_TOKEN_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** paths the kernel or the runtime own: no mount at or under them */
const SYSTEM = ['/proc', '/sys', '/dev'];

/** directories that must stay visible: no mount at them, under them, or over a parent of them.
 * /var/run is a link to /run in most images, so the token directory is listed under both. */
const KEEP_VISIBLE = [SA_TOKEN_DIR, SA_TOKEN_DIR.replace(/^\/var\/run\//, '/run/'), TOKEN_DIR, TLS_DIR, BIN_DIR];

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/** why `p` (absolute, no trailing "/", no "." or ".." segments) cannot be the secrets volume's mount path, if it cannot */
export function mountPathProblem(p: string): string | undefined {
  const sys = SYSTEM.find((d) => under(p, d));
  if (sys !== undefined) return `${p} is ${p === sys ? '' : 'under '}${sys}, which the kernel and the container runtime own; mount the secrets elsewhere (e.g. /run/secrets/erlmcp)`;
  const hidden = KEEP_VISIBLE.find((d) => under(p, d) || under(d, p));
  if (hidden !== undefined) {
    const what = hidden === TOKEN_DIR || hidden.endsWith('kubernetes.io/serviceaccount') ? 'the service-account token directory' : "the webhook's own directory";
    return `${p} ${p === hidden ? 'is' : under(p, hidden) ? 'is inside' : 'would hide'} ${what} ${hidden}; mount the secrets elsewhere (e.g. /run/secrets/erlmcp)`;
  }
  return undefined;
}
