// A Vault address with user:password@ (which the old node:http transport
// turned into Basic auth and the own HTTP/1.1 client would drop silently), a
// query or a fragment is refused when the config loads: exit 2 before any
// fetch, a message saying where the credential goes, and the password never
// in the output.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'CANARY-userinfo-pw-3e1b9c';

const config = (address: string) => `providers:
  vault: { type: vault, address: "${address}", auth: { method: token, tokenFile: ./t } }
secrets:
  db: { provider: vault, path: secret/data/db }
output: { root: ./out }
templates: []
`;

t.test('an address with user info, a query or a fragment: exit 2 at config load, the credential never shown', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vault-addr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = path.join(dir, 'agent.yaml');
  for (const [address, why] of [
    [`https://admin:${CANARY}@127.0.0.1:8200`, 'address must not carry a user name or password (user:password@): Vault does not read them; give the credential through auth (e.g. auth.method token with tokenFile) instead'],
    [`http://${CANARY}@127.0.0.1:8200/`, 'address must not carry a user name or password (user:password@): Vault does not read them; give the credential through auth (e.g. auth.method token with tokenFile) instead'],
    [`https://127.0.0.1:8200/?token=${CANARY}`, 'address must not have a query (?...) or fragment (#...): give only scheme, host and port, e.g. https://vault.vault.svc:8200'],
    [`https://127.0.0.1:8200/#${CANARY}`, 'address must not have a query (?...) or fragment (#...): give only scheme, host and port, e.g. https://vault.vault.svc:8200'],
  ] as const) {
    writeFileSync(cfg, config(address));
    for (const command of ['check', 'init']) {
      const run = await runCli([command, '-c', cfg], { cwd: dir, timeoutMs: 60_000 });
      t.equal(run.code, 2, `${command} ${address.replace(CANARY, '<canary>')}: exit 2\n${run.stderr.slice(0, 1000)}`);
      t.same(run.problems, [`${cfg}: providers.vault.address: ${why}`]);
      t.notOk(run.logs.some((l) => l.audit === true), 'nothing was fetched');
      assertNoLeak(t, [run.stdout, run.stderr], [CANARY]);
    }
  }
});
