// The test run's temp dir: it appears only with its owner recorded, and a
// later run removes it only once that run (and the tests it started) ended.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// @ts-expect-error: a plain .mjs module (the runner runs before anything is built)
import { createSuiteTmp, ownerGone, sweepSuiteTmps, SUITE_PREFIX } from './suite-tmp.mjs';

const HOUR = 3600_000;
/** a pid that has ended */
const deadPid = (): number => spawnSync('true').pid!;

t.test('ownerGone: the runner, then its process group, then the grace', async (t) => {
  const live = new Set([100, -200]);
  const isAlive = (pid: number): boolean => live.has(pid);
  t.equal(ownerGone({ pid: 100, pgid: 200 }, 10 * HOUR, isAlive), false, 'the runner lives');
  t.equal(ownerGone({ pid: 101, pgid: 200 }, HOUR, isAlive), false, 'the runner is gone, tests of its group still run');
  t.equal(ownerGone({ pid: 101, pgid: 200 }, 7 * HOUR, isAlive), true, 'a group alive for six hours more is someone else\'s');
  t.equal(ownerGone({ pid: 101, pgid: 201 }, 0, isAlive), true, 'runner and group gone');
  t.equal(ownerGone({ pid: 101 }, 0, isAlive), true, 'no group recorded (not Linux)');
  t.equal(ownerGone({ pid: 101, pgid: 1 }, 0, isAlive), true, 'group 1 is not a run\'s');
  t.equal(ownerGone(undefined, 10 * 60_000, isAlive), false, 'unreadable owner, a recent folder: kept');
  t.equal(ownerGone({ pid: 'x' }, 2 * HOUR, isAlive), true, 'unreadable owner, an old folder: gone');
});

t.test('a run folder: made with its owner, 1777, swept only when its run ended', async (t) => {
  const base = mkdtempSync(path.join(tmpdir(), 'suite-tmp-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const mine = createSuiteTmp(base);
  t.ok(path.basename(mine).startsWith(SUITE_PREFIX), 'named as a run folder');
  t.equal(statSync(mine).mode & 0o7777, 0o1777, 'mode 1777, like /tmp');
  t.same(Object.keys(JSON.parse(readFileSync(path.join(mine, '.owner'), 'utf8'))).sort(), ['pgid', 'pid'], 'owner recorded before the folder has its name');
  t.same(readdirSync(base), [path.basename(mine)], 'no staging folder left');

  const dead = path.join(base, `${SUITE_PREFIX}dead01`);
  mkdirSync(dead);
  writeFileSync(path.join(dead, '.owner'), JSON.stringify({ pid: deadPid() }));
  writeFileSync(path.join(dead, 'big'), 'x');
  const staleStaging = path.join(base, '.erlmcp-secrets-staging-old001');
  mkdirSync(staleStaging);
  const old = Date.now() / 1000 - 2 * 3600;
  utimesSync(staleStaging, old, old);
  const freshStaging = path.join(base, '.erlmcp-secrets-staging-new001');
  mkdirSync(freshStaging);
  const other = path.join(base, 'erlmcp-other-keep');
  mkdirSync(other);
  const link = path.join(base, `${SUITE_PREFIX}link01`);
  spawnSync('ln', ['-s', other, link]);

  const r = sweepSuiteTmps(base);
  t.same(r.failed, []);
  t.same(r.removed.sort(), ['.erlmcp-secrets-staging-old001', `${SUITE_PREFIX}dead01`]);
  t.ok(existsSync(mine), 'a live run keeps its folder');
  t.ok(existsSync(freshStaging), 'a staging folder being made is left');
  t.ok(existsSync(other) && existsSync(link), 'a symlink with the name is not followed or removed');

  if (process.getuid?.() === 0) {
    const theirs = path.join(base, `${SUITE_PREFIX}theirs`);
    mkdirSync(theirs);
    writeFileSync(path.join(theirs, '.owner'), JSON.stringify({ pid: deadPid() }));
    chownSync(theirs, 65534, 65534);
    sweepSuiteTmps(base);
    t.ok(existsSync(theirs), "another user's run folder is theirs to remove");
  }
});
