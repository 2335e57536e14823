// The Vault fake in real time with one database role, and an agent config
// for `run` through the real CLI that renders its dynamic credentials
// (database/creds/app) into out/creds.txt: for tests of leases, renewal and
// revoke-on-shutdown against a child process.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';

export interface VaultCredsOptions {
  /** the role's lease TTL and max TTL, seconds */
  ttl: number;
  maxTtl: number;
  /** generated passwords start with it: a canary prefix */
  passwordPrefix: string;
  /** config lines appended (shutdown:, refresh:, ...) */
  extra?: string;
}

/** writes <dir>/token and <dir>/agent.yaml */
export async function vaultCredsConfig(t: Test, dir: string, opts: VaultCredsOptions): Promise<{ vault: VaultFake; token: string; cfg: string }> {
  const vault = await startVaultFake({ now: Date.now });
  t.teardown(() => vault.close());
  vault.setPolicy('agent', { 'database/creds/*': ['read'], 'sys/leases/revoke': ['update'], 'sys/leases/renew': ['update'] });
  const token = vault.createToken({ policies: ['agent'], ttl: 3600 });
  vault.addDatabaseRole('app', { ttl: opts.ttl, maxTtl: opts.maxTtl, passwordPrefix: opts.passwordPrefix });
  writeFileSync(join(dir, 'token'), token);
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { vault: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: ./token } } }
secrets: { creds: { provider: vault, path: database/creds/app } }
templates: [ { contents: "{{creds.username}}:{{creds.password}}", destination: creds.txt } ]
output: { root: ./out }
server: { enabled: false }
${opts.extra ?? ''}`,
  );
  return { vault, token, cfg };
}
