// The bundle's code cache folder does not grow with every build: once a
// build writes its own caches, those of other builds unused for a week go,
// and temp files a killed writer left; anything else in the folder, a
// recent cache of another build and a warm run's folder are left alone.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE } from '../helpers/cli.ts';

const DAY = 24 * 3600;
const OTHER = 'aaaaaaaaaaaaaaaa';

function version(cache: string): void {
  const r = spawnSync(process.execPath, [BUNDLE, 'version'], { encoding: 'utf8', env: { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: cache } });
  if (r.status !== 0) throw new Error(`version exited ${r.status}: ${r.stderr}`);
}
/** a file in dir, last written and read daysAgo days ago */
function plant(dir: string, name: string, daysAgo: number): void {
  const file = path.join(dir, name);
  writeFileSync(file, 'x');
  const at = Date.now() / 1000 - daysAgo * DAY;
  utimesSync(file, at, at);
}

/** another build's cache unused for a month, and this build's own taken away so that the next run writes (and would prune) */
function staleOtherMissingOwn(cache: string): { name: string; own: string[] } {
  const name = `${OTHER}-version-v24.0.0-x64.v8cache`;
  plant(cache, name, 30);
  const own = readdirSync(cache).filter((f) => !f.startsWith(OTHER));
  for (const f of own) rmSync(path.join(cache, f));
  return { name, own };
}

t.test('a new build prunes what other builds left unused for a week, and only that', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'code-cache-prune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = path.join(dir, 'cache');
  version(cache);
  const own = readdirSync(cache);
  t.ok(own.length >= 1 && own.every((f) => f.endsWith('.v8cache')), `this build's cache is written (${own.join(', ')})`);
  const id = own[0]!.slice(0, 16);

  const stale = [`${OTHER}-version-v24.0.0-x64.v8cache`, `${OTHER}-init-aws-v24.0.0-x64-f1a2b3c.v8cache`, `${id}-init-v24.0.0-x64.v8cache.4242.tmp`];
  const kept = [
    `${OTHER}-run-v24.0.0-x64.v8cache`, // used 6 days ago
    'notes.txt',
    `${OTHER}-version-v24.0.0-x64.v8cache.bak`,
    `${id}-init-v22.0.0-x64.v8cache`, // this build's own, for another node
    `${OTHER}-exec-v24.0.0-x64.v8cache`, // written long ago, read yesterday
    `${OTHER}-check-v24.0.0-x64.v8cache`, // a symlink by a cache's name
    `${OTHER}-webhook-v24.0.0-x64.v8cache`, // a folder by a cache's name
  ];
  for (const f of stale) plant(cache, f, 8);
  plant(cache, kept[0]!, 6);
  plant(cache, kept[1]!, 30);
  plant(cache, kept[2]!, 30);
  plant(cache, kept[3]!, 30);
  plant(cache, kept[4]!, 30);
  const now = Date.now() / 1000;
  utimesSync(path.join(cache, kept[4]!), now - DAY, now - 30 * DAY);
  const target = path.join(dir, 'not-a-cache');
  writeFileSync(target, 'keep me');
  utimesSync(target, now - 30 * DAY, now - 30 * DAY);
  symlinkSync(target, path.join(cache, kept[5]!));
  mkdirSync(path.join(cache, kept[6]!));
  utimesSync(path.join(cache, kept[6]!), now - 30 * DAY, now - 30 * DAY);

  // a warm run writes nothing, so it prunes nothing
  version(cache);
  t.ok(stale.every((f) => existsSync(path.join(cache, f))), 'a run that took its cache leaves the folder alone');

  // this build writing a cache (here: its own, made stale) prunes
  for (const f of own) rmSync(path.join(cache, f));
  version(cache);
  const after = readdirSync(cache);
  for (const f of stale) t.notOk(after.includes(f), `gone: ${f}`);
  for (const f of kept) t.ok(after.includes(f), `kept: ${f}`);
  t.ok(own.every((f) => after.includes(f)), "this build's caches are there again");
  t.ok(existsSync(target), 'the symlink\'s target is untouched');
});

t.test('a cache folder reached through a symlink is not pruned', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'code-cache-prune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const real = path.join(dir, 'real');
  version(real);
  const link = path.join(dir, 'link');
  symlinkSync(real, link);
  const { name, own } = staleOtherMissingOwn(real);
  version(link);
  t.ok(own.every((f) => existsSync(path.join(real, f))), 'the cache was written through the link');
  t.ok(existsSync(path.join(real, name)), 'and nothing deleted through it');
});

t.test('a cache folder others can write to is not pruned', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'code-cache-prune-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cache = path.join(dir, 'cache');
  version(cache);
  chmodSync(cache, 0o777);
  const { name, own } = staleOtherMissingOwn(cache);
  version(cache);
  t.ok(own.every((f) => existsSync(path.join(cache, f))), 'the cache was written again');
  t.ok(existsSync(path.join(cache, name)), 'an untrusted folder: nothing deleted in it');
});
