// A directory under the output root that becomes a symlink while the sidecar
// runs (planted on a shared volume, or left by another container) must not
// take a re-rendered secret out of the root: the config check at start-up saw
// a real directory, so the writer checks again before every write.

import t from 'tap';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAgent } from '../helpers/agent-process.ts';
import { assertNoLeak } from '../helpers/no-leak.ts';

const PW1 = 'CANARY-q7W2e9R4-first';
const PW2 = 'CANARY-z5X8c3V6-second';

t.test('a subdirectory swapped for a symlink out of the root is refused; the agent keeps running and recovers', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'symlink-swap-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'secrets'));
  mkdirSync(path.join(dir, 'outside'));
  writeFileSync(path.join(dir, 'secrets/db'), PW1);
  writeFileSync(
    path.join(dir, 'agent.yaml'),
    `providers: { local: { type: file, path: ./secrets } }
secrets: { db: { provider: local } }
templates: [ { contents: "PW={{db.value}}\\n", destination: conf/db.txt } ]
output: { root: ./out }
server: { enabled: false }
refresh: { interval: 1s, jitter: 0 }
`,
  );
  const a = startAgent(t, ['run', '-c', path.join(dir, 'agent.yaml')]);
  t.teardown(() => a.proc.kill('SIGKILL'));
  await a.waitForLog((l) => l.msg === 'init complete', 'first render');
  t.ok(readFileSync(path.join(dir, 'out/conf/db.txt'), 'utf8') === `PW=${PW1}\n`, 'the first render is in place');

  // the directory is moved away and a symlink to outside takes its place
  renameSync(path.join(dir, 'out/conf'), path.join(dir, 'conf-moved'));
  symlinkSync(path.join(dir, 'outside'), path.join(dir, 'out/conf'));
  writeFileSync(path.join(dir, 'secrets/db'), PW2);
  const refused = await a.waitForLog((l) => l.msg.startsWith('writing a re-rendered file failed'), 'the refused write');
  t.match(String(refused.err), /was not written: its directory leads through a symlink to .*outside, outside the output root .*out; remove the link$/);
  t.same(readdirSync(path.join(dir, 'outside')), [], 'nothing written outside the root');
  t.equal(a.proc.exitCode, null, 'the agent keeps running');

  // the link is removed and the directory restored: the next pass writes
  rmSync(path.join(dir, 'out/conf'));
  renameSync(path.join(dir, 'conf-moved'), path.join(dir, 'out/conf'));
  const from = a.logs.length;
  writeFileSync(path.join(dir, 'secrets/db'), `${PW2}-again`);
  await a.waitForLog((l) => l.msg === 'template written' && String(l.file).endsWith('conf/db.txt'), 'the write once the link is gone', 15_000, from);
  t.ok(readFileSync(path.join(dir, 'out/conf/db.txt'), 'utf8') === `PW=${PW2}-again\n`, 'the new value is in place');
  t.same(readdirSync(path.join(dir, 'outside')), []);
  assertNoLeak(t, [a.stdout(), a.stderr()], [PW1, PW2]);
});
