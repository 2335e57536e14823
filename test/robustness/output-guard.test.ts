// The OutputGuard on real files: what it finds (missing, changed, unwritten),
// what it writes back, what it leaves alone, and that a newer render arriving
// while a repair runs is not lost. And in the refresh loop (ManualClock): a
// deleted file and a secret change in the same cycle end with the new value
// on disk and one notification; a change whose second file cannot be written
// tells the notifiers which file is pending, then again when it lands.

import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputGuard, stampOfSync } from '../../agent/writer/output-guard.ts';
import { writeAtomic, type WriteOptions } from '../../agent/writer/atomic-write.ts';
import { AgentError } from '../../agent/errors.ts';
import { memoryLoop } from '../helpers/memory-loop.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const V1 = 'canary-Guard-First-Value-Mw7S3e';
const V2 = 'canary-Guard-Second-Value-Ra4D9u';
const OPTS: WriteOptions = { mode: 0o400 };

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'robust-guard-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('finds and repairs missing, changed and touched files; leaves good ones alone', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'out/a.conf');
  const writes: string[] = [];
  const guard = new OutputGuard(async (d, b, o) => (writes.push(d), writeAtomic(d, b, o)));
  await writeAtomic(file, Buffer.from(V1), OPTS);
  guard.expect(file, Buffer.from(V1), OPTS, stampOfSync(file));

  t.same(await guard.check(), [], 'nothing to do');
  t.same(writes, [], 'and nothing written: a stat only');

  rmSync(join(dir, 'out'), { recursive: true });
  const [missing] = await guard.check();
  t.match(missing, { destination: file, reason: 'missing', ok: true, outcome: 'written' });
  t.equal(readFileSync(file, 'utf8'), V1);

  chmodSync(file, 0o644);
  writeFileSync(file, 'edited');
  const [changed] = await guard.check();
  t.match(changed, { reason: 'changed', ok: true, outcome: 'written' });
  t.equal(readFileSync(file, 'utf8'), V1);
  t.equal(statSync(file).mode & 0o777, 0o400);

  const later = new Date(Date.now() + 60_000);
  utimesSync(file, later, later);
  const [touched] = await guard.check();
  t.match(touched, { reason: 'changed', ok: true, outcome: 'unchanged' }, 'a touch: compared, not rewritten');
  t.same(await guard.check(), [], 'and remembered');
});

t.test('a path taken by a directory: the repair fails, is reported, and succeeds once the path is free', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.conf');
  const guard = new OutputGuard(writeAtomic);
  guard.expect(file, Buffer.from(V1), OPTS);
  guard.undelivered(file);
  mkdirSync(file);
  const [failed] = await guard.check();
  t.match(failed, { destination: file, reason: 'unwritten', ok: false });
  t.equal(failed?.ok === false && failed.err.code, 'config');
  t.notMatch(failed?.ok === false ? failed.err.message : '', V1, 'the error names the file, not the value');
  t.same(guard.failing(), [file]);
  rmSync(file, { recursive: true });
  const [ok] = await guard.check();
  t.match(ok, { reason: 'unwritten', ok: true, outcome: 'written' });
  t.same(guard.failing(), []);
  t.equal(readFileSync(file, 'utf8'), V1);
});

t.test('a newer render set while a repair writes is not marked delivered by that repair', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.conf');
  let once = true;
  const guard: OutputGuard = new OutputGuard(async (d, b, o) => {
    const r = await writeAtomic(d, b, o);
    // a render pass decided on new bytes while this write ran
    if (once) guard.expect(d, Buffer.from(V2), OPTS);
    once = false;
    return r;
  });
  guard.expect(file, Buffer.from(V1), OPTS);
  await guard.check();
  t.equal(readFileSync(file, 'utf8'), V1, 'the repair wrote what it had');
  const [next] = await guard.check();
  t.match(next, { destination: file, ok: true, outcome: 'written' }, 'the newer bytes are still owed, and written at the next check');
  t.equal(readFileSync(file, 'utf8'), V2);
  t.same(await guard.check(), []);
});

t.test('refresh loop: a deleted file and a secret change in one cycle end with the new value and one notification', async (t) => {
  const { dir, clock, provider, loop, health, notified, logs: text } = await memoryLoop(t, {
    body: `secrets: { db: { provider: mem }, other: { provider: mem } }
templates:
  - { contents: "{{db.password}}", destination: pw.txt }
  - { contents: "{{other.password}}", destination: other.txt }
output: { root: ./out }
refresh: { interval: 10s, jitter: 0 }
`,
    values: { db: { password: V1 }, other: { password: `${V1}-other` } },
    logLevel: 'debug',
  });
  const pw = join(dir, 'out/pw.txt');
  const other = join(dir, 'out/other.txt');

  rmSync(pw);
  rmSync(other);
  provider.put('db', { password: V2 });
  await clock.advance(10_000);
  await loop.idle();
  await clock.advance(0);
  await loop.idle();
  t.equal(readFileSync(pw, 'utf8'), V2, 'the new value, not the restored old one');
  t.equal(readFileSync(other, 'utf8'), `${V1}-other`, 'the untouched secret\'s file is restored');
  t.same(notified, [{ secrets: ['db'], files: [pw], pending: [] }], 'one notification, for the change only');
  t.equal(health.readiness().ready, true);

  // the backend is down: the files are still kept from the last good render
  provider.failNext('db', new AgentError('unavailable', 'db: backend unreachable'), 3);
  provider.failNext('other', new AgentError('unavailable', 'other: backend unreachable'), 3);
  rmSync(pw);
  await clock.advance(10_000);
  await loop.idle();
  t.match(text(), /secret refresh failed; files keep the last good value/, 'the checks failed');
  t.equal(readFileSync(pw, 'utf8'), V2, 'restored while the backend is down');
  t.equal(notified.length, 1, 'no notification for the restore');
  assertNoLeak(t, text(), [V1, V2]);
});

t.test('refresh loop: notifiers learn which files of a change are still unwritten, and are told again when the write lands', async (t) => {
  let blocked = true;
  const { dir, clock, provider, loop, notified, logs: text } = await memoryLoop(t, {
    body: `secrets: { db: { provider: mem } }
templates:
  - { contents: "{{db.password}}", destination: pw.txt }
  - { contents: "PASSWORD={{db.password}}", destination: app.env }
output: { root: ./out }
refresh: { interval: 10s, jitter: 0 }
`,
    values: { db: { password: V1 } },
    write: (destination, bytes, opts) => {
      if (blocked && destination.endsWith('app.env')) return Promise.reject(new AgentError('internal', `writing ${destination}: EEXIST (a file where a directory should be)`));
      return writeAtomic(destination, bytes, opts);
    },
  });
  const pw = join(dir, 'out/pw.txt');
  const env = join(dir, 'out/app.env');
  provider.put('db', { password: V2 });
  await clock.advance(10_000);
  await loop.idle();
  t.equal(readFileSync(pw, 'utf8'), V2);
  t.match(readFileSync(env, 'utf8'), V1, 'app.env keeps its old content');
  t.notMatch(readFileSync(env, 'utf8'), V2, 'app.env does not have the new value');
  t.same(notified, [{ secrets: ['db'], files: [pw], pending: [env] }], 'notified for what landed, told what is still unwritten');

  blocked = false;
  await clock.advance(10_000);
  await loop.idle();
  t.match(readFileSync(env, 'utf8'), V2, 'the repair wrote the new value');
  t.same(notified[1], { secrets: ['db'], files: [env], pending: [] }, 'the late notification: nothing is pending any more');
  t.equal(notified.length, 2);
  assertNoLeak(t, text(), [V1, V2]);
});
