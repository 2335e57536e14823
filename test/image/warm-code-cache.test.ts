// image/warm-code-cache.mjs (the Dockerfile's warm stage) fills the code
// cache on every provider path the image can take, not just the file
// example's (issue 16): a cache per command, one per cloud provider chunk,
// and an init cache that holds more than the file example alone compiles
// (the Vault and AWS success paths, the Azure and GCP client set-up).

import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BUNDLE, ROOT } from '../helpers/cli.ts';

const FLAGS = (JSON.parse(readFileSync(path.join(ROOT, 'image/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
const EXAMPLE = path.join(ROOT, 'examples/local/agent.yaml');
const SCRIPT = path.join(ROOT, 'image/warm-code-cache.mjs');

function cacheDir(t: Test): string {
  const d = mkdtempSync(path.join(tmpdir(), 'warm-code-cache-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** command or command-chunk -> cache file size */
function caches(dir: string): Map<string, number> {
  return new Map(readdirSync(dir).map((f) => [/^[0-9a-f]{16}-([a-z-]+?)-v\d/.exec(f)?.[1] ?? f, statSync(path.join(dir, f)).size]));
}

t.test('every command and every provider path gets its cache', async (t) => {
  const dir = cacheDir(t);
  const r = spawnSync(process.execPath, [SCRIPT, process.execPath, ...FLAGS, BUNDLE, EXAMPLE], { cwd: ROOT, env: { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: dir }, encoding: 'utf8', timeout: 240_000 });
  t.equal(r.status, 0, `exit 0: ${r.stderr}`);
  const got = caches(dir);
  t.same(
    [...got.keys()].sort(),
    ['check', 'exec', 'exec-aws', 'exec-azure', 'exec-gcp', 'init', 'init-aws', 'init-azure', 'init-gcp', 'run', 'run-aws', 'run-azure', 'run-gcp', 'version'],
  );
  t.equal(got.get('run'), got.get('init'), 'run starts from init\'s cache');

  // the same bundle, flags and node, warmed on the file example alone (the old warm stage)
  const fileOnly = cacheDir(t);
  const f = spawnSync(process.execPath, [...FLAGS, BUNDLE, 'init', '-c', EXAMPLE], { cwd: ROOT, env: { PATH: process.env.PATH, ERLMCP_SECRETS_CODE_CACHE: fileOnly }, encoding: 'utf8', timeout: 60_000 });
  t.equal(f.status, 0, `the file example's init exits 0${f.status === 0 ? '' : `: ${f.stderr}`}`);
  const fileInit = caches(fileOnly).get('init')!;
  t.ok(got.get('init')! > fileInit * 1.05, `the init cache holds the provider paths too: ${got.get('init')} bytes against ${fileInit} for the file example alone`);
});

t.test('usage errors exit 2 and say what is missing', async (t) => {
  const noArgs = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
  t.equal(noArgs.status, 2);
  t.match(noArgs.stderr, /usage: node image\/warm-code-cache\.mjs <node>/);
  const noCache = spawnSync(process.execPath, [SCRIPT, process.execPath, BUNDLE, EXAMPLE], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  t.equal(noCache.status, 2);
  t.match(noCache.stderr, /set ERLMCP_SECRETS_CODE_CACHE/);
});
