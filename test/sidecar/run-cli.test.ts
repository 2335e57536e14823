// `erlmcp-secrets run` through the real CLI, in real time: template sources
// and the config file are watched, a mounted-Secret-style ..data swap is
// re-rendered, short real Vault TTLs are renewed and replaced, and SIGTERM
// stops cleanly (optionally revoking leases).

import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vaultCredsConfig } from '../helpers/vault-creds-config.ts';
import { kubeletSecret } from '../helpers/file-provider-fixture.ts';
import { startAgent, waitUntil, type AgentProcess } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'canary-RunCli-First-Pw-Hq2V7n';
const PW2 = 'canary-RunCli-Second-Pw-Bx9K4s';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'run-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function noLeak(t: Test, a: AgentProcess, extra: string[] = []): void {
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2, ...extra]);
}

async function readyzOf(a: AgentProcess): Promise<number> {
  const { url } = (await a.waitForLog((l) => l.msg === 'health server listening', 'server')) as unknown as { url: string };
  return (await fetch(`${url}/readyz`)).status;
}

t.test('an edited template re-renders; a broken edit is reported and the last good output stays; a config edit asks for a restart', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets/db'), PW1);
  mkdirSync(join(dir, 'tpl'));
  const tpl = join(dir, 'tpl/app.tmpl');
  writeFileSync(tpl, 'password={{db.value}}\n');
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates: [ { source: ./tpl/app.tmpl, destination: app.conf } ]
output: { root: ./out }
server: { listen: "127.0.0.1:0" }
`,
  );
  const out = join(dir, 'out/app.conf');
  const a = startAgent(t, ['run', '-c', cfg]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  t.equal(readFileSync(out, 'utf8'), `password=${PW1}\n`);

  const mark = a.logs.length;
  writeFileSync(tpl, 'DB_PASSWORD={{db.value}}\n');
  await a.waitForLog((l) => l.msg === 'template written' && l.file === out, 're-render', 15_000, mark);
  t.equal(readFileSync(out, 'utf8'), `DB_PASSWORD=${PW1}\n`, 'the edit is rendered');

  writeFileSync(tpl, 'DB_PASSWORD={{#db}}{{db.value}}\n'); // unclosed section
  const broken = await a.waitForLog((l) => l.msg === 'edited template is broken; its file keeps the last good output', 'parse error');
  t.match(String(broken.err), /tpl\/app\.tmpl|templates\[0\]/, 'names the template');
  t.equal(readFileSync(out, 'utf8'), `DB_PASSWORD=${PW1}\n`, 'last good output stays');
  t.equal(await readyzOf(a), 200, '/readyz stays ready');

  writeFileSync(tpl, 'DB_PASSWORD={{nope.value}}\n');
  await waitUntil(() => a.countLogs((l) => l.msg === 'edited template is broken; its file keeps the last good output') === 2, 'unknown secret reported');
  t.equal(readFileSync(out, 'utf8'), `DB_PASSWORD=${PW1}\n`);

  writeFileSync(tpl, 'export DB_PASSWORD={{db.value}}\n');
  await waitUntil(() => a.logs.slice(mark).filter((l) => l.msg === 'template written').length === 2, 'fixed edit rendered');
  t.equal(readFileSync(out, 'utf8'), `export DB_PASSWORD=${PW1}\n`, 'a fixed edit is picked up');

  appendFileSync(cfg, '# an operator edit\n');
  await a.waitForLog((l) => l.msg.startsWith('config changed; restart the agent to apply'), 'config change');

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null }, 'SIGTERM: clean exit 0');
  t.ok(a.logs.some((l) => l.msg === 'sidecar stopped'));
  noLeak(t, a);
});

t.test('a mounted Secret updated by swapping its ..data symlink is re-rendered', async (t) => {
  const dir = tempDir(t);
  const secretDir = join(dir, 'secrets/db');
  mkdirSync(secretDir, { recursive: true });
  kubeletSecret(secretDir, '2026_01_01_00_00_00.1', { password: PW1, username: 'erlmcp' });
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates: [ { contents: "{{db.username}}:{{db.password}}", destination: db.txt } ]
output: { root: ./out }
server: { enabled: false }
`,
  );
  const a = startAgent(t, ['run', '-c', cfg]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  t.equal(readFileSync(join(dir, 'out/db.txt'), 'utf8'), `erlmcp:${PW1}`);
  const mark = a.logs.length;
  // what kubelet does: a new timestamped dir, a temporary link, renamed over ..data
  const stamp = '..2026_01_01_00_05_00.2';
  mkdirSync(join(secretDir, stamp));
  writeFileSync(join(secretDir, stamp, 'password'), PW2);
  writeFileSync(join(secretDir, stamp, 'username'), 'erlmcp');
  symlinkSync(stamp, join(secretDir, '..data_tmp'));
  renameSync(join(secretDir, '..data_tmp'), join(secretDir, '..data'));
  rmSync(join(secretDir, '..2026_01_01_00_00_00.1'), { recursive: true });
  await a.waitForLog((l) => l.msg === 'template written', 're-render after the swap', 20_000, mark);
  t.equal(readFileSync(join(dir, 'out/db.txt'), 'utf8'), `erlmcp:${PW2}`);
  a.proc.kill('SIGTERM');
  t.equal((await a.exited).code, 0);
  noLeak(t, a);
});

t.test('short real TTLs: leases renewed and replaced before expiry; SIGTERM revokes the lease when asked', async (t) => {
  const dir = tempDir(t);
  const PW_PREFIX = 'canary-RunCli-Lease-Pw-';
  const { vault, token, cfg } = await vaultCredsConfig(t, dir, { ttl: 3, maxTtl: 7, passwordPrefix: PW_PREFIX, extra: 'shutdown: { revokeLeases: true }\n' });
  const a = startAgent(t, ['run', '-c', cfg]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const first = readFileSync(join(dir, 'out/creds.txt'), 'utf8');
  const firstLease = vault.leases()[0]!;
  const mark = a.logs.length;
  // ttl 3 s, max 7 s: renewals at ~1.7 s and ~3.4 s, the second capped -> fresh credentials before 7 s
  await a.waitForLog((l) => l.msg === 'template written', 'fresh credentials rendered', 12_000, mark);
  const renewedAt = vault.count('/v1/sys/leases/renew', 'PUT');
  t.ok(renewedAt >= 1, `renewed ${renewedAt} times first`);
  t.equal(vault.count('/v1/database/creds/app'), 2, 'one new lease');
  t.not(readFileSync(join(dir, 'out/creds.txt'), 'utf8'), first);
  t.ok(Date.now() < firstLease.maxExpireAt, 'replaced before the first lease hit its max TTL');
  const current = vault.leases().find((l) => l.id !== firstLease.id)!;

  a.proc.kill('SIGTERM');
  t.equal((await a.exited).code, 0);
  t.ok(vault.requests.some((r) => r.path === '/v1/sys/leases/revoke' && r.status === 204), 'revoke sent');
  t.equal(current.revoked, true, 'the current lease was given back on shutdown');
  t.ok(a.logs.some((l) => l.msg === 'lease revoked on shutdown' && l.secret === 'creds'));
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW_PREFIX, token, first.split(':')[1]!]);
});
