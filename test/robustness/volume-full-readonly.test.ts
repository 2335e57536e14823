// The output volume fills up or turns read-only under a running sidecar:
// a real tmpfs mounted on the output directory (needs the right to mount;
// skipped where that is refused, as in most CI containers). The file keeps
// its last good content, no temp file is left, /readyz and the metrics say
// what is wrong, and once the volume is fixed the new value is written and
// the reload notifier runs once.

import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitUntil } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { metric, serverUrl, sidecarFixture } from '../helpers/robust-sidecar.ts';

const PW1 = 'canary-Volume-First-Pw-Pb3X6d';
const PW2 = 'canary-Volume-Second-Pw-Hn8J1r';
const PW3 = 'canary-Volume-Third-Pw-Kq2W5s';

function canMount(): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmdirSync(probe);
  }
}

const skip = canMount() ? false : 'mounting a tmpfs is not permitted here';

function mountOutput(t: Test, out: string): void {
  mkdirSync(out, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', out]);
  // teardowns run last-registered first: this one before the fixture's rm -r
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', out], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  });
}

const temps = (out: string): string[] => readdirSync(out).filter((n) => n.startsWith('.erlmcp-secrets-'));

t.test('a full output volume, then space again', { skip }, async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  mountOutput(t, f.out);
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);

  const filler = join(f.out, 'filler');
  try {
    execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'ignore' });
  } catch {
    // dd stops with ENOSPC: the volume is full
  }
  let mark = a.logs.length;
  f.setPassword(PW2);
  const failed = await a.waitForLog((l) => l.msg.startsWith('writing a re-rendered file failed'), 'ENOSPC', 15_000, mark);
  t.match(String(failed.err), /ENOSPC/, 'says the volume is full');
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'the last good content stays');
  t.same(temps(f.out), [], 'no temp file left behind');
  t.equal((await fetch(`${url}/readyz`)).status, 503);
  t.equal(await metric(url, 'erlmcp_secrets_ready'), 0);
  t.equal(f.reloads(), 0);

  mark = a.logs.length;
  rmSync(filler);
  await a.waitForLog((l) => l.msg === 'rendered file written after an earlier failed write', 'recovery', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW2}\n`);
  await waitUntil(() => f.reloads() === 1, 'one reload');
  t.equal((await fetch(`${url}/readyz`)).status, 200);
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});

t.test('a read-only output volume, then read-write again', { skip }, async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  mountOutput(t, f.out);
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);

  execFileSync('mount', ['-o', 'remount,ro', f.out]);
  let mark = a.logs.length;
  f.setPassword(PW2);
  const failed = await a.waitForLog((l) => l.msg.startsWith('writing a re-rendered file failed'), 'EROFS', 15_000, mark);
  t.match(String(failed.err), /EROFS/);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'the last good content stays');
  // a second change while read-only: the newest value is the one kept for later
  f.setPassword(PW3);
  await waitUntil(() => a.logs.slice(mark).filter((l) => l.msg.startsWith('writing a re-rendered file failed')).length >= 2, 'second failure');
  const body = (await (await fetch(`${url}/readyz`)).json()) as { unwritten?: Array<{ destination: string; error: string }> };
  t.same(body.unwritten?.map((u) => u.destination), [f.file]);
  t.ok(((await metric(url, `erlmcp_secrets_output_restores_total{destination="${f.file}",reason="unwritten",result="failed"}`)) ?? 0) >= 1, 'failed retries are counted');

  mark = a.logs.length;
  execFileSync('mount', ['-o', 'remount,rw', f.out]);
  await a.waitForLog((l) => l.msg === 'rendered file written after an earlier failed write', 'recovery', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW3}\n`, 'the newest value');
  t.same(temps(f.out), []);
  await waitUntil(() => f.reloads() === 1, 'one reload');
  t.equal((await fetch(`${url}/readyz`)).status, 200);
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  t.equal(f.reloads(), 1);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2, PW3]);
});

t.test('no write ever leaves a half file: the reader sees old or new content only', { skip }, async (t) => {
  // the volume fills in the middle of a write: a value larger than the space left
  const f = sidecarFixture(t, { password: PW1 });
  mountOutput(t, f.out);
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  writeFileSync(join(f.out, 'filler'), Buffer.alloc(40 * 1024));
  const mark = a.logs.length;
  f.setPassword(`${PW2}-${'x'.repeat(40 * 1024)}`);
  await a.waitForLog((l) => l.msg.startsWith('writing a re-rendered file failed'), 'partial write refused', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'old content, whole');
  t.same(temps(f.out), [], 'the partial temp file was removed');
  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});
