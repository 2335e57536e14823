// The files the running sidecar was built from, deleted or broken under it
// (real CLI, file provider): a template source deleted keeps its output and
// says so, and its return is rendered; a config file deleted or replaced by a
// broken one is reported with what is wrong (a restart would fail), the agent
// keeps serving what it started with, and a fixed config is acknowledged.

import t from 'tap';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNoLeak } from '../helpers/no-leak.ts';
import { serverUrl, sidecarFixture } from '../helpers/robust-sidecar.ts';

const PW1 = 'canary-Sources-First-Pw-Gk4T7w';

t.test('template source deleted, then restored', async (t) => {
  const f = sidecarFixture(t, { password: PW1, tmpl: '{ source: ./tpl/app.tmpl, destination: app.conf }' });
  mkdirSync(join(f.dir, 'tpl'));
  const tpl = join(f.dir, 'tpl/app.tmpl');
  writeFileSync(tpl, 'password={{db.value}}\n');
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);

  let mark = a.logs.length;
  rmSync(tpl);
  const gone = await a.waitForLog((l) => l.msg.startsWith('template source deleted'), 'deletion reported', 15_000, mark);
  t.equal(gone.level, 'warn');
  t.equal(gone.file, tpl);
  await new Promise((r) => setTimeout(r, 1500)); // a refresh cycle or so
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'the output stays');
  t.equal((await fetch(`${url}/readyz`)).status, 200);

  mark = a.logs.length;
  writeFileSync(tpl, 'DB_PASSWORD={{db.value}}\n');
  await a.waitForLog((l) => l.msg === 'template written' && l.file === f.file, 'the restored source is rendered', 15_000, mark);
  t.equal(readFileSync(f.file, 'utf8'), `DB_PASSWORD=${PW1}\n`);

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});

t.test('config file deleted, replaced by a broken one, then fixed', async (t) => {
  const f = sidecarFixture(t, { password: PW1 });
  const good = readFileSync(f.cfg, 'utf8');
  const a = f.start();
  await a.waitForLog((l) => l.msg === 'sidecar running', 'sidecar running');
  const url = await serverUrl(a);

  let mark = a.logs.length;
  rmSync(f.cfg);
  const gone = await a.waitForLog((l) => l.msg.startsWith('config file deleted'), 'deletion reported', 15_000, mark);
  t.equal(gone.level, 'warn');
  t.match(gone.msg, /a restart would fail/);

  mark = a.logs.length;
  writeFileSync(f.cfg, good.replace('secrets:', 'secretz:'));
  const broken = await a.waitForLog((l) => l.msg.startsWith('the edited config is broken'), 'broken config reported', 15_000, mark);
  t.equal(broken.level, 'error');
  t.match(JSON.stringify(broken.problems ?? broken.err), /secretz/, 'names what is wrong');
  t.equal(readFileSync(f.file, 'utf8'), `password=${PW1}\n`, 'the output stays');
  t.equal((await fetch(`${url}/readyz`)).status, 200, 'still serving what it started with');

  mark = a.logs.length;
  writeFileSync(f.cfg, `${good}# fixed\n`);
  await a.waitForLog((l) => l.msg.startsWith('config changed; restart the agent to apply'), 'a good edit is acknowledged', 15_000, mark);
  t.equal(a.countLogs((l) => l.msg.startsWith('the edited config is broken')), 1);

  a.proc.kill('SIGTERM');
  t.same(await a.exited, { code: 0, signal: null });
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1]);
});
