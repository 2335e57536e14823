// node-vault logs request bodies through the `debug` package when DEBUG
// names it. Running from source (not the bundle), an AppRole login must still
// not print the secret_id.

import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startVaultFake } from '../fakes/vault/index.ts';
import { ENTRY } from '../helpers/cli.ts';

t.test('DEBUG=* does not make the vault client print credentials', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  const secretId = 'CANARY-secret-id-3b9f7a1c';
  vault.setPolicy('app', { 'secret/data/app': ['read'] });
  vault.addAppRole('app', { roleId: 'role-id-1', secretIds: [secretId], policies: ['app'] });
  vault.putKv('secret/app', { v: 'CANARY-value-8d2e4f6a' });
  const dir = mkdtempSync(path.join(tmpdir(), 'vault-debug-'));
  writeFileSync(path.join(dir, 'role'), 'role-id-1');
  writeFileSync(path.join(dir, 'secret'), secretId);
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    `providers:\n  v: { type: vault, address: "${vault.url}", auth: { method: approle, roleIdFile: role, secretIdFile: secret } }\nsecrets:\n  app: { provider: v, path: secret/data/app }\noutput: { root: out }\ntemplates:\n  - { contents: "{{app.v}}", destination: v.txt }\n`,
  );
  const child = spawn(process.execPath, [ENTRY, 'init', '-c', path.join(dir, 'agent.yaml'), '--log-level', 'trace'], { env: { PATH: process.env.PATH, DEBUG: '*' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('close', r));
  t.equal(code, 0, out);
  t.notOk(out.includes(secretId), 'secret_id absent');
  t.notOk(out.includes('CANARY-value-8d2e4f6a'), 'value absent');
});
