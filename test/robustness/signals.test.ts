// Signals to `run` on a bad day, through the real CLI: SIGTERM twice while
// the stop is still revoking a lease, SIGHUP to the agent itself, and SIGTERM
// while init is still fetching.

import t, { type Test } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { sidecarFixture } from '../helpers/robust-sidecar.ts';
import { vaultCredsConfig } from '../helpers/vault-creds-config.ts';

const PW1 = 'canary-Signals-First-Pw-Wd8N3c';
const PW_PREFIX = 'canary-Signals-Lease-Pw-';

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'robust-sig-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const vaultSetup = (t: Test, dir: string, extra = '') => vaultCredsConfig(t, dir, { ttl: 3600, maxTtl: 7200, passwordPrefix: PW_PREFIX, extra });

t.test('a second SIGTERM while the stop is revoking a lease does not kill the agent half-way', async (t) => {
  const dir = tempDir(t);
  const { vault, token, cfg } = await vaultSetup(t, dir, 'shutdown: { revokeLeases: true }\n');
  const a = startAgent(t, ['run', '-c', cfg]);
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  vault.setDelay(1500); // the revoke on the way out is slow
  a.proc.kill('SIGTERM');
  await a.waitForLog((l) => l.msg === 'sidecar stopping', 'stop begins');
  await new Promise((r) => setTimeout(r, 200));
  a.proc.kill('SIGTERM');
  const end = await a.exited;
  t.same(end, { code: 0, signal: null }, 'exit 0, not killed by the second signal');
  t.ok(a.logs.some((l) => l.msg.startsWith('already stopping')), 'the second signal is logged');
  t.ok(a.logs.some((l) => l.msg === 'lease revoked on shutdown'), 'the revoke in flight completed');
  t.equal(vault.leases()[0]?.revoked, true);
  t.ok(a.logs.some((l) => l.msg === 'sidecar stopped'));
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW_PREFIX, token]);
});

t.test('SIGHUP to the sidecar: it stays up and checks secrets and files at once', async (t) => {
  const f = sidecarFixture(t, { password: PW1, refresh: '{ interval: 1h, jitter: 0 }', server: false });
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  rmSync(f.file);
  const mark = a.logs.length;
  a.proc.kill('SIGHUP');
  await a.waitForLog((l) => l.msg === 'SIGHUP received', 'SIGHUP logged', 10_000, mark);
  await a.waitForLog((l) => l.msg.startsWith('rendered file was deleted'), 'restored on SIGHUP, not an hour later', 10_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`);
  t.equal(a.proc.exitCode, null, 'still running');
  t.equal(a.proc.signalCode, null);
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});

t.test('SIGTERM while init is still fetching: the agent ends at once and leaves no file behind', async (t) => {
  const dir = tempDir(t);
  const { vault, token, cfg } = await vaultSetup(t, dir);
  vault.setDelay(5000);
  const a = startAgent(t, ['run', '-c', cfg]);
  // the request is on its way when the signal comes
  await new Promise((r) => setTimeout(r, 1000));
  const started = Date.now();
  a.proc.kill('SIGTERM');
  const end = await a.exited;
  // Judgement: during init nothing is written yet, so dying by the signal
  // (143 to a shell, the default for a process with nothing to finish) is
  // right; what matters is that it ends and leaves nothing half-done.
  t.ok(end.signal === 'SIGTERM' || end.code !== 0, `ended by the signal (${JSON.stringify(end)}), not as a success`);
  t.ok(Date.now() - started < 4000, 'did not wait for the slow backend');
  const out = join(dir, 'out');
  t.same(existsSync(out) ? readdirSync(out) : [], [], 'no file, no temp file');
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW_PREFIX, token]);
});

t.test('a temp file left by an agent killed mid-write (SIGKILL) is removed by the next start; the destination is whole', async (t) => {
  const f = sidecarFixture(t, { password: PW1, server: false });
  mkdirSync(f.out, { recursive: true });
  // what a SIGKILL between open and rename leaves: a partial temp beside the old file
  writeFileSync(f.file, 'password=old\n', { mode: 0o400 });
  const leftover = join(f.out, '.erlmcp-secrets-app.conf.99999.0');
  writeFileSync(leftover, 'passw');
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  t.notOk(existsSync(leftover), 'the leftover temp file is gone');
  t.same(readdirSync(f.out), ['app.conf']);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`);
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});
