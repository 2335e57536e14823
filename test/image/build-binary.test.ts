// image/build-binary.mjs refuses bad input with a message that says what to
// do, before it builds anything.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE24, ROOT } from '../helpers/image-sandbox.ts';

function buildBinary(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(NODE24, [path.join(ROOT, 'image/build-binary.mjs'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stderr: r.stderr };
}

const out = mkdtempSync(path.join(tmpdir(), 'erlmcp-build-binary-'));
t.teardown(() => rmSync(out, { recursive: true, force: true }));
const target = path.join(out, 'erlmcp-secrets');

const cases: Array<[string, string[], RegExp]> = [
  ['an unknown mode', ['--mode', 'bogus'], /--mode bogus: use one of snapshot, code-cache, plain/],
  ['a node that does not exist', ['--node', path.join(out, 'no-such-node')], /--node .*no-such-node: no such file/],
  ['an unknown option', ['--frobnicate'], /Unknown option '--frobnicate'[\s\S]*usage: node image\/build-binary\.mjs/],
  ['a stray argument', ['extra'], /Unexpected argument 'extra'[\s\S]*usage:/],
];
for (const [what, args, message] of cases) {
  t.test(`refuses ${what}`, async (t) => {
    const r = buildBinary([...args, '--out', target]);
    t.equal(r.status, 1);
    t.match(r.stderr, message);
    t.notOk(existsSync(target), 'builds nothing');
  });
}

// a node that is not 24 (the system one here is older)
const otherNode = ['/usr/bin/node', '/usr/local/bin/node']
  .filter((p) => existsSync(p))
  .find((p) => !/^v24\./.test(spawnSync(p, ['--version'], { encoding: 'utf8' }).stdout ?? ''));
t.test('refuses a node that is not Node 24', { skip: otherNode ? false : 'no other node version on this machine' }, async (t) => {
  const r = buildBinary(['--node', otherNode!, '--out', target]);
  t.equal(r.status, 1);
  t.match(r.stderr, /is v\d+\.\d+\.\d+; the single executable needs Node 24/);
  t.same(readdirSync(out), [], 'builds nothing');
});
