// The bundle talks to Vault through the agent's own transport, with axios
// left out (image/slim-deps.mjs): `init` from the bundle against a plain-http
// Vault fake loads neither node:https nor node:tls nor node:http2 (nor
// node:http: the transport writes HTTP/1.1 on a node:net socket itself), and
// against an https Vault fake (test CA) loads tls when it needs it and
// verifies the certificate. Needs `npm run build` first.

import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { makeTestPki } from '../fakes/vault/certs.ts';
import { startVaultFake, type VaultFake } from '../fakes/vault/index.ts';
import { BUNDLE, runCli } from '../helpers/cli.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const CANARY = 'Qz8CANARYwv3mK1xP0nE';

const work = mkdtempSync(path.join(tmpdir(), 'bundle-vault-transport-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
// records the builtins the bundle loaded, at exit
const recorder = path.join(work, 'record-builtins.cjs');
writeFileSync(
  recorder,
  "process.on('exit', () => require('node:fs').writeFileSync(process.env.BUILTINS_OUT, process.moduleLoadList.filter((m) => m.startsWith('NativeModule ') && !m.includes('internal/')).map((m) => m.slice(13)).join('\\n')));\n",
);

async function initAgainst(name: string, vault: VaultFake, tls: string) {
  const dir = path.join(work, name);
  const out = path.join(dir, 'out');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'token'), vault.rootToken);
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    `providers:\n  v: { type: vault, address: "${vault.url}", auth: { method: token, tokenFile: token }${tls} }\n` +
      `secrets:\n  app: { provider: v, path: secret/data/app }\noutput: { root: ${out} }\ntemplates:\n  - { contents: "{{app.password}}", destination: p.txt }\n`,
  );
  const builtinsFile = path.join(dir, 'builtins');
  const run = await runCli(['init', '-c', path.join(dir, 'agent.yaml')], {
    program: BUNDLE,
    cwd: dir,
    env: { NODE_OPTIONS: `--require ${recorder}`, BUILTINS_OUT: builtinsFile, ERLMCP_SECRETS_CODE_CACHE: 'off' },
  });
  return { run, rendered: readFileSync(path.join(out, 'p.txt'), 'utf8'), builtins: readFileSync(builtinsFile, 'utf8').split('\n') };
}

t.test('a plain-http Vault: init works and never loads https, tls, http2 or http', async (t) => {
  const vault = await startVaultFake();
  t.teardown(() => vault.close());
  vault.putKv('secret/app', { password: CANARY });
  const { run, rendered, builtins } = await initAgainst('http', vault, '');
  t.equal(run.code, 0, run.stderr);
  t.equal(rendered, CANARY);
  t.ok(builtins.includes('net'), 'the recorder works: net is listed');
  t.same(builtins.filter((b) => ['https', 'tls', 'http2', 'http'].includes(b)), [], 'no https, tls, http2 or http');
  assertNoLeak(t, [run.stdout, run.stderr], [CANARY, vault.rootToken]);
});

t.test('an https Vault with the test CA: tls is loaded on demand and verifies', async (t) => {
  const pki = makeTestPki();
  t.teardown(() => pki.cleanup());
  const vault = await startVaultFake({ tls: { cert: pki.cert, key: pki.key } });
  t.teardown(() => vault.close());
  vault.putKv('secret/app', { password: CANARY });
  const { run, rendered, builtins } = await initAgainst('https', vault, `, tls: { caFile: ${pki.caFile} }`);
  t.equal(run.code, 0, run.stderr);
  t.equal(rendered, CANARY);
  t.ok(builtins.includes('tls'), 'tls loaded');
  t.notOk(builtins.includes('https'), 'https is not: the transport is node:tls itself');
  assertNoLeak(t, [run.stdout, run.stderr], [CANARY, vault.rootToken]);
});
