// Rendered files deleted, edited or made unwritable under a running sidecar
// (the real CLI, file provider): the agent notices at its next refresh cycle
// (a stat against what it wrote), puts back the last good render with a warn
// line and a metric, runs no reload notifier for bytes the app already had,
// and reports a file it cannot write on /readyz until a later write succeeds.

import t from 'tap';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { waitUntil } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { metric, serverUrl, sidecarFixture } from '../helpers/robust-sidecar.ts';

const PW1 = 'canary-SelfHeal-First-Pw-Jx3Q8v';
const PW2 = 'canary-SelfHeal-Second-Pw-Tz6M1k';
const TAMPER = 'canary-SelfHeal-Tampered-Nw5R2p';
const ALL = [PW1, PW2, TAMPER];

t.test('a deleted, an edited and a chmod-ed rendered file, and a deleted output directory, are restored without a reload', async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`);

  let mark = a.logs.length;
  rmSync(f.file);
  const deleted = await a.waitForLog((l) => l.msg.startsWith('rendered file was deleted'), 'restore after delete', 15_000, mark);
  t.equal(deleted.level, 'warn');
  t.equal(deleted.reason, 'missing');
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'content is back');
  t.equal(statSync(f.file).mode & 0o777, 0o400, "with its mode");
  t.equal(await metric(url, `erlmcp_secrets_output_restores_total{destination="${f.file}",reason="missing",result="restored"}`), 1);

  mark = a.logs.length;
  writeFileSync(f.file, `password=${TAMPER}\n`);
  const changed = await a.waitForLog((l) => l.msg.startsWith('rendered file was changed'), 'restore after edit', 15_000, mark);
  t.equal(changed.reason, 'changed');
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'the edit is undone');

  mark = a.logs.length;
  chmodSync(f.file, 0o644);
  await a.waitForLog((l) => l.msg.startsWith('rendered file was changed') && l.outcome === 'mode-changed', 'mode restored', 15_000, mark);
  t.equal(statSync(f.file).mode & 0o777, 0o400, "a widened mode is narrowed again");

  mark = a.logs.length;
  rmSync(f.out, { recursive: true });
  await a.waitForLog((l) => l.msg.startsWith('rendered file was deleted'), 'restore after rm -r out', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'directory and file are back');

  t.equal(f.reloads(), 0, 'no reload notifier for bytes the app already had');
  t.equal((await fetch(`${url}/readyz`)).status, 200);

  // an unchanged file is left alone: the same inode through several cycles
  const ino = statSync(f.file).ino;
  const cycles = a.countLogs((l) => l.msg === 'rendered file was deleted on disk; restored from the last good render');
  await new Promise((r) => setTimeout(r, 2500));
  t.equal(statSync(f.file).ino, ino, 'not rewritten while untouched');
  t.equal(a.countLogs((l) => l.msg === 'rendered file was deleted on disk; restored from the last good render'), cycles);

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], ALL);
});

t.test('an unwritable destination: last good content stays, /readyz and metrics say so, and it recovers with one reload', async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);

  // the destination's path taken by a directory: every write of it fails
  // (works as root too, unlike a chmod)
  rmSync(f.file);
  mkdirSync(f.file);
  let mark = a.logs.length;
  await a.waitForLog((l) => l.msg === 'restoring a rendered file failed; retrying at the next check', 'restore fails', 15_000, mark);
  f.setPassword(PW2);
  const failed = await a.waitForLog((l) => l.msg.startsWith('writing a re-rendered file failed'), 'write of the new value fails', 15_000, mark);
  t.match(String(failed.err), /app\.conf/, 'names the file');
  const ready = await fetch(`${url}/readyz`);
  t.equal(ready.status, 503, 'not ready while the file cannot be written');
  const body = (await ready.json()) as { unwritten?: Array<{ destination: string; error: string }> };
  t.same(body.unwritten?.map((u) => u.destination), [f.file], '/readyz names the file');
  t.equal(body.unwritten?.[0]?.error, 'config', 'with the error code only');
  t.equal(await metric(url, 'erlmcp_secrets_ready'), 0);
  t.ok(((await metric(url, `erlmcp_secrets_renders_total{destination="${f.file}",result="failed"}`)) ?? 0) >= 1, 'renders_total counts the failed write');
  t.equal(f.reloads(), 0, 'no reload for a file that was not written');
  await new Promise((r) => setTimeout(r, 2200)); // two more cycles, still failing
  t.equal(a.countLogs((l) => l.level === 'error' && l.msg === 'restoring a rendered file failed; retrying at the next check'), 1, 'a failing repair is logged at error once per streak, not every cycle');

  mark = a.logs.length;
  rmSync(f.file, { recursive: true });
  await a.waitForLog((l) => l.msg === 'rendered file written after an earlier failed write', 'recovery', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW2}\n`, 'the newest value, not the old one');
  await waitUntil(() => f.reloads() === 1, 'one reload for the late write');
  t.equal((await fetch(`${url}/readyz`)).status, 200, 'ready again');
  t.equal(await metric(url, `erlmcp_secrets_output_restores_total{destination="${f.file}",reason="unwritten",result="restored"}`), 1);

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  t.equal(f.reloads(), 1, 'exactly one reload');
  assertNoLeak(t, [a.stdout(), a.stderr()], ALL);
});
